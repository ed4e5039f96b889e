"""The import machinery shared by every source: read a file, recognise its layout by header name,
validate everything, then write all-or-nothing.

An importer is two steps so that nothing is written until the whole file has been checked:

* `Importer.parse(path, source_name=..., progress=...)` reads the file (CSV, CSV inside a zip,
  gzip, XLSX), recognises the published layout from the header (case- and white-space-
  insensitive, a UTF-8 BOM tolerated, Latin-1 as a fallback), validates every row and returns a
  `Parsed` with a normalised DataFrame, or raises `ImportRejected` with the first 100 problems as
  ``file:line: column: problem`` (line = physical line in the file, header = line 1).
* `Importer.write(parsed, run=...)` replaces the previous snapshot / edition. It runs inside the
  caller's `transaction.atomic()` and never commits on its own: a failure (or a killed worker)
  leaves the last good data in place.

`apply_parsed` wraps write + the deprivation-profile recompute in one transaction;
`import_file` is parse + `apply_parsed`, synchronous, for management commands and the demo.

Trade-offs: files are read whole into memory (the largest national file is ~70 MB, ~1.2 M rows)
with pandas' C parser; code columns are read as categoricals so that validation runs over the
distinct values rather than every row. Line numbers assume one record per physical line and fall
back to the `csv` module's line count when a quoted field spans lines.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction

if TYPE_CHECKING:
    from inequalities.models import ImportRun

MAX_ERRORS = 100
DATA_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")

Progress = Callable[[int, str], None]


def _no_progress(pct, msg):
    return None


class ImportRejected(Exception):
    """The file was not accepted; nothing was written.

    `errors` holds at most the first 100 messages, each ``file:line: column: problem`` or
    ``file: problem``; `error_count` is the total number of problems found."""

    def __init__(self, errors, error_count=None, layout="", rows_read=0):
        errors = list(errors)
        self.errors = errors[:MAX_ERRORS]
        self.error_count = len(errors) if error_count is None else error_count
        self.layout = layout
        self.rows_read = rows_read
        more = self.error_count - len(self.errors[:3])
        text = "; ".join(self.errors[:3]) + (f" (and {more} more)" if more > 0 else "")
        super().__init__(text or "the file was rejected")


@dataclass
class Parsed:
    layout: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    source_name: str = ""


class Importer:
    """One subclass per source, registered in `IMPORTERS[kind]` with `@register`."""

    kind = ""
    layouts: tuple = ()
    # In a zip, prefer members whose name matches this (e.g. the all-sexes registrations file).
    zip_member_pattern: str | None = None

    def parse(self, path: Path, *, source_name: str, progress: Progress = _no_progress) -> Parsed:
        """Read and validate the whole file; raise `ImportRejected`. `progress(pct, message)`
        runs 0-100 over parsing and validation."""
        raise NotImplementedError

    def write(self, parsed: Parsed, *, run: ImportRun | None) -> dict:
        raise NotImplementedError

    def refresh_profiles(self, parsed: Parsed, summary: dict) -> int:
        """Recompute the deprivation profiles this import affects. Default: all of them."""
        from inequalities.profiles import recompute_profiles

        return recompute_profiles()

    # Shared helper for subclasses: read and recognise the file.
    def read(self, path, *, source_name, progress=_no_progress) -> Table:
        return read_table(
            path,
            source_name=source_name,
            layouts=self.layouts,
            zip_member_pattern=self.zip_member_pattern,
            progress=progress,
        )


IMPORTERS: dict[str, Importer] = {}


def register(cls):
    IMPORTERS[cls.kind] = cls()
    return cls


def apply_parsed(kind, parsed: Parsed, *, run=None, progress: Progress = _no_progress) -> dict:
    """Write a parsed file and recompute the profiles it affects, in one transaction.
    `progress` runs 0-100 over this step."""
    importer = IMPORTERS[kind]
    with transaction.atomic():
        progress(0, "Writing")
        summary = importer.write(parsed, run=run)
        progress(60, "Recomputing deprivation profiles")
        summary["profiles"] = importer.refresh_profiles(parsed, summary)
    progress(100, "Done")
    return summary


def import_file(kind, path, *, source_name=None, run=None, progress: Progress = _no_progress) -> dict:
    """Parse, validate and load one file synchronously (no ImportRun bookkeeping).

    Returns the write summary plus layout, row counts and warnings. Raises `ImportRejected`.
    `progress(pct, message)`: parsing is 0-60, writing and profiles 60-100."""
    path = Path(path)
    importer = IMPORTERS[kind]
    parsed = importer.parse(
        path, source_name=source_name or path.name, progress=lambda pct, msg: progress(pct * 60 // 100, msg)
    )
    summary = apply_parsed(
        kind, parsed, run=run, progress=lambda pct, msg: progress(60 + pct * 40 // 100, msg)
    )
    return {
        "layout": parsed.layout,
        "rows_read": parsed.rows_read,
        "rows_accepted": parsed.rows_accepted,
        "rows_rejected": parsed.rows_rejected,
        "warnings": parsed.warnings,
        **summary,
    }


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- Layouts -------------------------------------------------------------------------------------


def norm_header(text) -> str:
    """Case- and white-space-insensitive form of a header (line breaks in XLSX headers too)."""
    return " ".join(str(text or "").replace("\ufeff", "").split()).casefold()


@dataclass(frozen=True)
class Layout:
    """A published layout: `columns` maps our field name to its header (or a tuple of accepted
    spellings); every one is required. `optional` columns are used when present."""

    name: str
    columns: dict
    optional: dict = field(default_factory=dict)
    categorical: tuple = ()  # fields read as categoricals (few distinct values, many rows)

    @staticmethod
    def _spellings(value):
        return (value,) if isinstance(value, str) else tuple(value)

    def find(self, header_index: dict) -> tuple[dict, list]:
        """Return ({field: column position}, [missing published headers])."""
        found, missing = {}, []
        for fld, value in self.columns.items():
            for spelling in self._spellings(value):
                if norm_header(spelling) in header_index:
                    found[fld] = header_index[norm_header(spelling)]
                    break
            else:
                missing.append(self._spellings(value)[0])
        for fld, value in self.optional.items():
            for spelling in self._spellings(value):
                if norm_header(spelling) in header_index:
                    found[fld] = header_index[norm_header(spelling)]
                    break
        return found, missing


@dataclass
class Table:
    """A file read as text: `frame` has one column per field of the recognised layout (strings,
    or categoricals of strings), `lines` the physical line of each row."""

    file: str  # the name used in messages
    layout: Layout
    headers: dict  # field -> the header as written in the file
    frame: pd.DataFrame
    lines: np.ndarray

    @property
    def rows(self):
        return len(self.frame)

    def line(self, i):
        return int(self.lines[i])


class Errors:
    """Collects problems as (line, column, text); keeps the first 100 by line and the total."""

    def __init__(self, file, n_rows=0):
        self.file = file
        self.items: list[tuple[int, str, str]] = []
        self.count = 0
        self.bad_rows = np.zeros(n_rows, dtype=bool)

    def file_error(self, problem):
        self.items.append((0, "", problem))
        self.count += 1

    def add(self, line, column, problem):
        self.items.append((line, column, problem))
        self.count += 1

    def add_mask(self, table: Table, mask, fld, problem: Callable | str):
        """Record a problem for every row where `mask` is true. `problem` is a string or a
        function of the row's value (called for at most the first 100 rows)."""
        mask = np.asarray(mask, dtype=bool)
        n = int(mask.sum())
        if not n:
            return
        self.bad_rows |= mask
        self.count += n
        idx = np.flatnonzero(mask)[:MAX_ERRORS]
        column = table.headers.get(fld, fld)
        values = table.frame[fld].to_numpy()[idx] if fld in table.frame else [None] * len(idx)
        for i, value in zip(idx, values, strict=True):
            text = problem(value) if callable(problem) else problem
            self.items.append((table.line(i), column, text))

    def messages(self):
        out = []
        for line, column, problem in sorted(self.items, key=lambda x: x[0])[:MAX_ERRORS]:
            if line == 0:
                out.append(f"{self.file}: {problem}")
            else:
                out.append(f"{self.file}:{line}: {column}: {problem}")
        return out

    def raise_if_any(self, layout="", rows_read=0):
        if self.count:
            raise ImportRejected(self.messages(), self.count, layout=layout, rows_read=rows_read)


# --- Reading -------------------------------------------------------------------------------------


def _reject(file, problem, layout=""):
    raise ImportRejected([f"{file}: {problem}"], 1, layout=layout)


def _open_bytes(path: Path, source_name: str, zip_member_pattern) -> tuple[str, bytes, str]:
    """Return (name for messages, raw bytes, kind 'csv'|'xlsx'), unpacking gzip and zip."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        _reject(source_name, f"cannot read the file ({exc.strerror})")
    limit = settings.IMPORT_MAX_BYTES
    if size > limit:
        _reject(
            source_name,
            f"the file is {size:,} bytes, over the limit of {limit:,} bytes (IMPORT_MAX_BYTES)",
        )
    if size == 0:
        _reject(source_name, "the file is empty")
    raw = path.read_bytes()
    name = source_name
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
                raw = gz.read(limit + 1)  # never unpack more than the limit
        except (OSError, EOFError) as exc:
            _reject(source_name, f"not a readable gzip file ({exc})")
        if len(raw) > limit:
            _reject(
                source_name,
                f"the file unpacks to more than {limit:,} bytes, over the limit (IMPORT_MAX_BYTES)",
            )
        if source_name.lower().endswith(".gz"):
            name = source_name[:-3]
    if raw[:4] == b"PK\x03\x04":
        if zip_is_xlsx(raw):
            return name, raw, "xlsx"
        return _from_zip(raw, name, zip_member_pattern, limit)
    return name, raw, "csv"


def zip_is_xlsx(raw):
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        return "[Content_Types].xml" in zf.namelist() and any(n.startswith("xl/") for n in zf.namelist())


def _from_zip(raw, name, pattern, limit):
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        _reject(name, "not a readable zip file")
    with zf:
        members = [
            info
            for info in zf.infolist()
            if not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
            and info.filename.lower().endswith(DATA_SUFFIXES)
        ]
        if pattern:
            preferred = [m for m in members if re.search(pattern, m.filename, re.IGNORECASE)]
            if preferred:
                members = preferred
        if not members:
            _reject(name, "the zip holds no CSV or XLSX file to import")
        if len(members) > 1:
            listed = ", ".join(m.filename for m in members[:10])
            _reject(name, f"the zip holds several candidate files ({listed}); upload one of them")
        member = members[0]
        if member.file_size > limit:
            _reject(
                name,
                f"{member.filename} is {member.file_size:,} bytes unpacked, over the limit of "
                f"{limit:,} bytes (IMPORT_MAX_BYTES)",
            )
        data = zf.read(member)
    kind = "xlsx" if member.filename.lower().endswith((".xlsx", ".xlsm")) else "csv"
    return f"{name}/{member.filename}", data, kind


def _decode_head(head: bytes) -> str:
    """The encoding judged from the first 64 KB: UTF-8 (BOM already stripped) or Latin-1. The
    full read falls back to Latin-1 too if a later byte is not UTF-8 (see `read_table`)."""
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the 64 KB boundary is still UTF-8.
        return "utf-8" if exc.start >= len(head) - 3 else "latin-1"


def _match_layout(file, headers: list[str], layouts) -> tuple[Layout, dict]:
    normalised = [norm_header(h) for h in headers]
    errors = Errors(file)
    seen = {}
    for pos, (h, n) in enumerate(zip(headers, normalised, strict=True)):
        if not n:
            continue
        if n in seen:
            errors.add(1, h.strip(), f"duplicated column (also column {seen[n] + 1})")
        else:
            seen[n] = pos
    if not any(normalised):
        _reject(file, "the first line is empty: expected a header row")
    candidates = []
    for layout in layouts:
        found, missing = layout.find(seen)
        candidates.append((layout, found, missing))
    matched = [c for c in candidates if not c[2]]
    if matched:
        errors.raise_if_any()
        # the most specific layout wins (e.g. File 7 over File 1)
        layout, found, _ = max(matched, key=lambda c: len(c[0].columns))
        return layout, found
    # Unknown layout: name the closest one and what it lacks.
    layout, found, missing = min(candidates, key=lambda c: (len(c[2]), -len(c[1])))
    if len(found) >= 2:
        errors.file_error(
            f"missing column{'s' if len(missing) > 1 else ''} for the {layout.name} layout: "
            + ", ".join(f"'{m}'" for m in missing)
        )
    else:
        names = "; ".join(layout.name for layout in layouts)
        errors.file_error(f"unknown layout: the header does not match any of: {names}")
    errors.raise_if_any()
    raise AssertionError("unreachable")


def read_table(path, *, source_name, layouts, zip_member_pattern=None, progress=_no_progress) -> Table:
    path = Path(path)
    progress(2, "Reading the file")
    file, raw, kind = _open_bytes(path, source_name, zip_member_pattern)
    if kind == "xlsx":
        return _read_xlsx(file, raw, layouts)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw[:4096].strip() and not raw.strip():
        _reject(file, "the file is empty")
    encoding = _decode_head(raw[: 1 << 16])
    # The header record (it may span lines when a quoted header holds a line break).
    head_text = raw[: 1 << 16].decode(encoding, errors="replace")
    reader = csv.reader(io.StringIO(head_text, newline=""))
    try:
        headers = next(reader)
    except (StopIteration, csv.Error) as exc:
        _reject(file, f"cannot read the header row ({exc})")
    header_lines = reader.line_num
    layout, positions = _match_layout(file, headers, layouts)
    fields = sorted(positions, key=positions.get)
    header_text = {f: " ".join(headers[positions[f]].split()) for f in fields}
    categorical = layout.categorical
    dtypes = dict.fromkeys(range(len(headers)), str)
    dtypes.update({positions[f]: "category" for f in fields if f in categorical})
    progress(10, "Parsing")
    options = {
        "header": None,
        "skiprows": 1,  # the header record (pandas counts records, even over quoted line breaks)
        "names": list(range(len(headers))),
        # No `usecols`: with it pandas silently drops the extra fields of a too-long row.
        "index_col": False,
        "dtype": dtypes,
        "keep_default_na": False,
        "na_values": [],
        "skip_blank_lines": False,
        "on_bad_lines": "error",
        "engine": "c",
        "low_memory": False,
    }
    try:
        try:
            frame = pd.read_csv(io.BytesIO(raw), encoding=encoding, **options)
        except UnicodeDecodeError:
            encoding = "latin-1"  # not UTF-8 after all: Latin-1 decodes any byte
            frame = pd.read_csv(io.BytesIO(raw), encoding=encoding, **options)
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            expected, line, saw = (int(g) for g in match.groups())
            raise ImportRejected(
                [f"{file}:{line}: (row): {saw} fields where the header has {expected}"], 1
            ) from None
        _reject(file, f"cannot parse the file as CSV ({exc})")
    by_position = {positions[f]: f for f in fields}
    frame = frame[[positions[f] for f in fields]]
    frame.columns = [by_position[c] for c in frame.columns]
    # Physical line numbers: one record per line unless a quoted field holds a line break.
    n_lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
    if len(frame) == n_lines - header_lines:
        lines = np.arange(header_lines + 1, header_lines + 1 + len(frame), dtype=np.int64)
    else:
        lines = _csv_line_numbers(raw, encoding, len(frame))
    # Blank lines (every field empty) are not rows.
    blank = _blank_rows(frame)
    if blank.any():
        keep = ~blank
        frame = frame.loc[keep].reset_index(drop=True)
        lines = lines[keep]
        for f in categorical:
            if f in frame:
                frame[f] = frame[f].cat.remove_unused_categories()
    if not len(frame):
        raise ImportRejected([f"{file}: the file has a header but no data rows"], 1, layout=layout.name)
    return Table(file=file, layout=layout, headers=header_text, frame=frame, lines=lines)


def _blank_rows(frame):
    blank = np.ones(len(frame), dtype=bool)
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            empty_cats = [c for c in s.cat.categories if not str(c).strip()]
            blank &= (s.isna() | s.isin(empty_cats)).to_numpy()
        else:
            blank &= (s.isna() | (s.str.strip() == "")).to_numpy()
        if not blank.any():
            break
    return blank


def _csv_line_numbers(raw, encoding, n_rows):
    """The physical line on which each data record starts (slow path: a quoted field spans
    lines). Blank lines are records too, as pandas reads them with skip_blank_lines=False."""
    reader = csv.reader(io.StringIO(raw.decode(encoding), newline=""))
    lines = []
    start = 1
    for i, _row in enumerate(reader):
        if i > 0:  # record 0 is the header
            lines.append(start)
        start = reader.line_num + 1
    return np.asarray(lines[:n_rows], dtype=np.int64)


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "strftime"):
        return value.strftime("%Y%m%d")
    return str(value)


def _read_xlsx(file, raw, layouts) -> Table:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        _reject(file, f"cannot open the workbook ({type(exc).__name__})")
    try:
        last_error = None
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            header_row = next(rows, None)
            if not header_row:
                continue
            headers = [_cell_text(v) for v in header_row]
            try:
                layout, positions = _match_layout(f"{file} (sheet {ws.title})", headers, layouts)
            except ImportRejected as exc:
                last_error = last_error or exc
                continue
            fields = sorted(positions, key=positions.get)
            data, lines = [], []
            for line, row in enumerate(rows, start=2):
                cells = [_cell_text(row[positions[f]]) if positions[f] < len(row) else "" for f in fields]
                if any(c.strip() for c in cells):
                    data.append(cells)
                    lines.append(line)
            frame = pd.DataFrame(data, columns=fields, dtype=str)
            if not len(frame):
                raise ImportRejected([f"{file}: the sheet {ws.title} has a header but no data rows"], 1)
            for f in layout.categorical:
                frame[f] = frame[f].astype("category")
            header_text = {f: " ".join(headers[positions[f]].split()) for f in fields}
            return Table(
                file=f"{file} (sheet {ws.title})",
                layout=layout,
                headers=header_text,
                frame=frame,
                lines=np.asarray(lines, dtype=np.int64),
            )
        if last_error:
            raise last_error
        _reject(file, "the workbook has no sheet with a header row")
    finally:
        wb.close()
    raise AssertionError("unreachable")


# --- Validation helpers --------------------------------------------------------------------------

LSOA_ENGLAND = re.compile(r"E01\d{6}")
LSOA_ANY = re.compile(r"[EW]01\d{6}")
PRACTICE_CODE = re.compile(r"[A-Z]\d{5}")
PCN_CODE = re.compile(r"U\d{5}")
SUB_ICB_CODE = re.compile(r"[0-9A-Z]{3}|[0-9A-Z]{5}")  # 3 characters, or 5 for a merged CCG (X2C4Y)
ICB_CODE = re.compile(r"Q[0-9A-Z]{2}")
REGION_CODE = re.compile(r"Y\d{2}")
ONS_SUB_ICB = re.compile(r"E38\d{6}")
ONS_ICB = re.compile(r"E54\d{6}")
ONS_REGION = re.compile(r"E40\d{6}")


def stripped(series: pd.Series) -> pd.Series:
    """Strip white space; categoricals stay categoricals (only their categories are touched)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = series.cat.categories
        clean = cats.astype(str).str.strip()
        if (clean == cats).all():
            return series
        if clean.has_duplicates:
            return series.astype(str).str.strip().astype("category")
        return series.cat.rename_categories(clean)
    return series.fillna("").astype(str).str.strip()


def mismatch(series: pd.Series, pattern: re.Pattern, *, allow_blank=False) -> np.ndarray:
    """Rows whose value does not fully match `pattern` (evaluated once per distinct value)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = series.cat.categories.astype(str)
        ok = np.asarray(cats.str.fullmatch(pattern.pattern), dtype=bool)
        if allow_blank:
            ok |= np.asarray(cats == "", dtype=bool)
        codes = series.cat.codes.to_numpy()
        out = np.where(codes < 0, not allow_blank, ~ok[np.maximum(codes, 0)] if len(ok) else True)
        return out.astype(bool)
    values = series.fillna("").astype(str)
    ok = values.str.fullmatch(pattern.pattern)
    if allow_blank:
        ok |= values == ""
    return ~ok.to_numpy(dtype=bool)


def blank(series: pd.Series) -> np.ndarray:
    if isinstance(series.dtype, pd.CategoricalDtype):
        empty = [c for c in series.cat.categories if str(c).strip() == ""]
        return (series.isna() | series.isin(empty)).to_numpy()
    return (series.fillna("").astype(str).str.strip() == "").to_numpy()


def parse_whole_numbers(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse counts/ranks written as whole numbers, tolerating thousands separators ("29,199").

    Returns (values as int64 with 0 where invalid, non_numeric mask, not_whole_or_negative mask).
    For categoricals the work is done once per distinct value."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = pd.Series(series.cat.categories.astype(str))
        v, bad_num, bad_int = parse_whole_numbers(cats)
        codes = series.cat.codes.to_numpy()
        missing = codes < 0
        codes = np.where(missing, 0, codes)
        if len(cats) == 0:
            n = len(series)
            return np.zeros(n, np.int64), np.ones(n, bool), np.zeros(n, bool)
        return v[codes], bad_num[codes] | missing, bad_int[codes] & ~missing
    text = series.fillna("").astype(str).str.strip().str.replace(",", "", regex=False)
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    non_numeric = np.isnan(numbers)
    with np.errstate(invalid="ignore"):
        not_whole = ~non_numeric & ((numbers != np.floor(numbers)) | (numbers < 0))
    values = np.where(non_numeric | not_whole, 0, numbers).astype(np.int64)
    return values, non_numeric, not_whole


def parse_decimal(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    text = series.fillna("").astype(str).str.strip().str.replace(",", "", regex=False)
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    return numbers, np.isnan(numbers)
