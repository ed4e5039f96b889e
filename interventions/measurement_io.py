"""Outcome measurements in and out: periods, validation of entered values, the CSV upload
layout, and series with their missing periods filled in for SPC. Pure functions, no database.

Upload layout (columns found by header name, case- and white-space-insensitive, UTF-8 BOM
tolerated, Latin-1 accepted):

* a proportion measure: ``period,numerator,denominator``
* a single-value measure: ``period,value``

``period`` is ``YYYY-MM`` (or ``YYYY-MM-01``) for monthly and quarterly measures (a quarter starts
in January, April, July or October) and ``YYYY-MM-DD``, a Monday, for weekly ones. The whole file is
checked before anything is written; every problem is reported as ``file:line: column: problem``.
"""

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

MAX_ROWS = 5000
MAX_VALUE = Decimal("9999999999")  # fits DecimalField(max_digits=14, decimal_places=4)
QUARTER_MONTHS = {1, 4, 7, 10}


class PeriodError(ValueError):
    pass


def parse_period(text, frequency):
    """The first day of the period named by `text`, or PeriodError with the reason."""
    text = (text or "").strip()
    if not text:
        raise PeriodError("is empty")
    m = re.fullmatch(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?", text)
    if not m:
        hint = "YYYY-MM-DD (a Monday)" if frequency == "weekly" else "YYYY-MM"
        raise PeriodError(f"“{text}” is not a period; use {hint}")
    year, month = int(m[1]), int(m[2])
    day = int(m[3]) if m[3] else None
    try:
        period = date(year, month, day or 1)
    except ValueError:
        raise PeriodError(f"“{text}” is not a real date") from None
    if frequency == "weekly":
        if day is None:
            raise PeriodError(f"“{text}” needs a day: weekly periods are YYYY-MM-DD, a Monday")
        if period.weekday() != 0:
            raise PeriodError(f"“{text}” is a {period:%A}; weekly periods start on a Monday")
        return period
    if day not in (None, 1):
        raise PeriodError(f"“{text}” is not the first day of a month")
    if frequency == "quarterly" and month not in QUARTER_MONTHS:
        raise PeriodError(f"“{text}” does not start a quarter (January, April, July or October)")
    return period


def format_period(period, frequency):
    if frequency == "weekly":
        return f"w/c {period.day} {period:%b %Y}"
    if frequency == "quarterly":
        return f"{period:%b} – {_add_months(period, 2):%b %Y}"
    return f"{period:%b %Y}"


def period_key(period, frequency):
    """The text a CSV uses for this period (round-trips through parse_period)."""
    return period.isoformat() if frequency == "weekly" else f"{period:%Y-%m}"


def _add_months(d, n):
    month = d.month - 1 + n
    return date(d.year + month // 12, month % 12 + 1, 1)


def next_period(period, frequency):
    if frequency == "weekly":
        return period + timedelta(days=7)
    return _add_months(period, 3 if frequency == "quarterly" else 1)


def with_gaps(series, frequency):
    """[(period, value)] sorted, with (period, None) inserted for every period missing between the
    first and the last, so SPC neither joins across nor ignores a gap."""
    series = sorted(series)
    if not series:
        return []
    values = dict(series)
    out, period = [], series[0][0]
    while period <= series[-1][0]:
        out.append((period, values.get(period)))
        period = next_period(period, frequency)
    return out


def check_values(*, is_proportion, numerator=None, denominator=None, value=None):
    """{field: problem} for a set of entered values (already numbers or None)."""
    problems = {}
    if is_proportion:
        if numerator is None:
            problems["numerator"] = "is required"
        if denominator is None:
            problems["denominator"] = "is required"
        elif denominator <= 0:
            problems["denominator"] = "must be more than 0"
        if numerator is not None and denominator is not None and numerator > denominator > 0:
            problems["numerator"] = f"{numerator} is more than the denominator {denominator}"
        if value is not None:
            problems["value"] = "is not used for a numerator and denominator measure"
    else:
        if value is None:
            problems["value"] = "is required"
        elif abs(value) >= MAX_VALUE:
            problems["value"] = "is too large"
        if numerator is not None or denominator is not None:
            problems["numerator"] = "is not used for a single-value measure"
    return problems


@dataclass(frozen=True)
class Row:
    line: int
    period: date
    numerator: int | None
    denominator: int | None
    value: Decimal | None


class UploadError(Exception):
    def __init__(self, errors):
        super().__init__("\n".join(errors))
        self.errors = errors


def _norm(header):
    return " ".join(header.replace("\ufeff", "").split()).lower()


def _decode(data):
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _count(text):
    text = text.strip().replace(",", "")
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"“{text}” is not a whole number of 0 or more")
    return int(text)


def _decimal(text):
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"“{text.strip()}” is not a number") from None
    if not value.is_finite() or math.isnan(float(value)):
        raise ValueError(f"“{text.strip()}” is not a number")
    return value


def parse_upload(data, *, filename, is_proportion, frequency):
    """Parse and check a whole upload (bytes). Return [Row] or raise UploadError(errors)."""
    errors = []
    if not data or not data.strip():
        raise UploadError([f"{filename}: the file is empty"])
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise UploadError([f"{filename}:1: the header could not be read ({exc})"]) from None
    names = [_norm(h) for h in header]
    wanted = ["period", "numerator", "denominator"] if is_proportion else ["period", "value"]
    for name in sorted({n for n in names if names.count(n) > 1 and n}):
        errors.append(f"{filename}:1: {name}: the column appears more than once")
    for name in wanted:
        if name not in names:
            errors.append(f"{filename}:1: {name}: the column is missing")
    for name in names:
        if name and name not in wanted:
            other = "numerator and denominator" if not is_proportion else "a single value"
            reason = (
                f"not used by this measure (it is not {other})"
                if name in {"numerator", "denominator", "value"}
                else "unexpected column"
            )
            errors.append(f"{filename}:1: {name}: {reason}; expected {', '.join(wanted)}")
    if errors:
        raise UploadError(errors)
    col = {name: names.index(name) for name in wanted}
    rows, seen = [], {}
    try:
        for line, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                errors.append(f"{filename}:{line}: more than {MAX_ROWS} rows")
                break
            if len(cells) != len(header):
                errors.append(f"{filename}:{line}: has {len(cells)} cells, the header has {len(header)}")
                continue
            row_errors = []
            try:
                period = parse_period(cells[col["period"]], frequency)
            except PeriodError as exc:
                period = None
                row_errors.append(f"{filename}:{line}: period: {exc}")
            if period is not None and period in seen:
                row_errors.append(
                    f"{filename}:{line}: period: {period:%Y-%m-%d} is also on line {seen[period]}"
                )
            parsed = {"numerator": None, "denominator": None, "value": None}
            for name in wanted[1:]:
                text = cells[col[name]]
                if not text.strip():
                    row_errors.append(f"{filename}:{line}: {name}: is empty")
                    continue
                try:
                    parsed[name] = _count(text) if is_proportion else _decimal(text)
                except ValueError as exc:
                    row_errors.append(f"{filename}:{line}: {name}: {exc}")
            if not row_errors:
                for name, problem in check_values(is_proportion=is_proportion, **parsed).items():
                    row_errors.append(f"{filename}:{line}: {name}: {problem}")
            if row_errors:
                errors.extend(row_errors)
                continue
            seen[period] = line
            rows.append(Row(line, period, **parsed))
    except csv.Error as exc:
        errors.append(f"{filename}:{reader.line_num}: the file is not valid CSV ({exc})")
    if not rows and not errors:
        errors.append(f"{filename}: the file has a header but no rows")
    if errors:
        raise UploadError(errors)
    return rows
