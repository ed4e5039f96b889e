"""Priority targets: quarters, the CSV return, and proportions with Wilson intervals.

Pure functions (no database) apart from `load_returns_csv`, which resolves practice codes against
the PCN's practices passed in. The CSV is validated whole before anything is written, and every
problem is reported as `file:line: column: problem` (as for the national imports).

The Wilson score interval is a small private helper here (`_wilson`, OHID's PHEindicatormethods
formula). `dashboards.statistics.wilson_interval` is the shared home for the inequality
statistics, but dependencies point one way (dashboards -> interventions -> inequalities), so
inequalities keeps this copy; a test checks that the two agree.
"""

import csv
import datetime
import io
import math
import re
from dataclasses import dataclass

Z95 = 1.959963984540054

# (column in the CSV, field on PriorityTargetReturn, label)
CSV_COLUMNS = [
    ("practice_code", None, "Practice ODS code"),
    ("quarter", None, "NHS financial quarter, e.g. 2025/26 Q1"),
    ("ld_register_14_plus", "ld_register_14_plus", "LD register aged 14 and over"),
    ("ld_health_checks_with_action_plan", "ld_health_checks", "LD health checks with a health action plan"),
    ("smi_register", "smi_register", "SMI register"),
    ("smi_physical_health_checks", "smi_health_checks", "SMI full physical health checks"),
    ("ethnicity_recorded", "ethnicity_recorded", "Patients with ethnicity recorded (incl. not stated)"),
    ("registered_patients", "list_size", "Registered patients (total list)"),
    ("sickle_cell_register", "scd_register", "Sickle cell disease register"),
]
COUNT_COLUMNS = [(col, fld) for col, fld, _ in CSV_COLUMNS if fld]
# Numerator column must not exceed denominator column.
PAIRS = [
    ("ld_health_checks_with_action_plan", "ld_register_14_plus"),
    ("smi_physical_health_checks", "smi_register"),
    ("ethnicity_recorded", "registered_patients"),
]


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    numerator: str
    denominator: str
    threshold: float
    threshold_label: str


TARGETS = [
    Target(
        "ld",
        "Learning disability health checks with a health action plan (aged 14+)",
        "ld_health_checks",
        "ld_register_14_plus",
        0.75,
        "at least 75%",
    ),
    Target(
        "smi",
        "SMI full physical health checks",
        "smi_health_checks",
        "smi_register",
        0.60,
        "national ambition 60%",
    ),
    Target(
        "ethnicity",
        "Ethnicity recorded (including not stated or refused)",
        "ethnicity_recorded",
        "list_size",
        1.0,
        "every patient",
    ),
]


# --- Quarters ------------------------------------------------------------------------------------

_QUARTER = re.compile(r"^\s*(\d{4})\s*[/-]\s*(\d{2})\s*Q\s*([1-4])\s*$", re.IGNORECASE)


def quarter_start(text):
    """'2025/26 Q1' (or 2025-26 Q1) -> date(2025, 4, 1); Q4 starts in January of the second year."""
    m = _QUARTER.match(text or "")
    if not m:
        raise ValueError("expected a financial quarter like 2025/26 Q1")
    year, short, q = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if (year + 1) % 100 != short:
        raise ValueError(f"{year}/{short:02d} is not a financial year")
    month = {1: 4, 2: 7, 3: 10, 4: 1}[q]
    return datetime.date(year + (1 if q == 4 else 0), month, 1)


def quarter_label(day):
    fy = day.year if day.month >= 4 else day.year - 1
    q = {4: 1, 7: 2, 10: 3, 1: 4}.get(day.month)
    if q is None or day.day != 1:
        raise ValueError(f"{day} is not the first day of a quarter")
    return f"{fy}/{(fy + 1) % 100:02d} Q{q}"


def quarter_containing(day):
    """The first day of the NHS financial quarter that contains `day`."""
    month = (day.month - 1) // 3 * 3 + 1  # calendar quarter start: Jan, Apr, Jul, Oct
    return datetime.date(day.year, month, 1)


def recent_quarters(today, count=8):
    """The current quarter and the ones before it, newest first, as (start, label)."""
    start = quarter_containing(today)
    out = []
    for _ in range(count):
        out.append((start, quarter_label(start)))
        month, year = start.month - 3, start.year
        if month < 1:
            month, year = month + 12, year - 1
        start = datetime.date(year, month, 1)
    return out


# --- Proportions ------------------------------------------------------------------------------------


def _wilson(x, n, z=Z95):
    """Wilson score 95% interval for x of n: (2x + z² ± z·√(z² + 4x(1 − x/n))) / (2(n + z²))."""
    if n <= 0:
        return None, None
    if x < 0 or x > n:
        raise ValueError("x must be between 0 and n")
    centre = 2 * x + z * z
    spread = z * math.sqrt(z * z + 4 * x * (1 - x / n))
    denom = 2 * (n + z * z)
    return max(0.0, (centre - spread) / denom), min(1.0, (centre + spread) / denom)


@dataclass(frozen=True)
class Proportion:
    numerator: int
    denominator: int
    threshold: float

    @property
    def value(self):
        return self.numerator / self.denominator if self.denominator else None

    @property
    def interval(self):
        return _wilson(self.numerator, self.denominator)

    @property
    def lower(self):
        return self.interval[0]

    @property
    def upper(self):
        return self.interval[1]

    @property
    def meets(self):
        return None if self.value is None else self.value >= self.threshold - 1e-12

    @property
    def status(self):
        if self.value is None:
            return "No data"
        return "Meets" if self.meets else "Below"


def proportions(counts):
    """{target key: Proportion} for a mapping of the return's count fields."""
    return {
        t.key: Proportion(int(counts.get(t.numerator) or 0), int(counts.get(t.denominator) or 0), t.threshold)
        for t in TARGETS
    }


def add_counts(rows, fields):
    total = dict.fromkeys(fields, 0)
    for row in rows:
        for f in fields:
            total[f] += getattr(row, f) if not isinstance(row, dict) else row[f]
    return total


# --- The CSV return ----------------------------------------------------------------------------------


def template_csv(practices, quarter):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c for c, _, _ in CSV_COLUMNS])
    for p in practices:
        writer.writerow([p.code, quarter, *[""] * len(COUNT_COLUMNS)])
    return out.getvalue()


def _normalise(header):
    return re.sub(r"\s+", "_", (header or "").strip().lstrip("\ufeff").strip().lower())


def parse_returns_csv(data, *, filename, practices_by_code):
    """Validate a whole CSV return. Returns (rows, errors): rows as dicts with `practice`,
    `quarter_start` and the count fields, errors as `file:line: column: problem`. Nothing is
    returned as rows when there is any error."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], [f"{filename}:1: (file): not UTF-8 text"]
    reader = csv.reader(io.StringIO(data.lstrip("\ufeff")))
    header = next(reader, None)
    if not header:
        return [], [f"{filename}:1: (header): the file is empty"]
    names = [_normalise(h) for h in header]
    expected = [c for c, _, _ in CSV_COLUMNS]
    errors = [f"{filename}:1: {col}: column missing" for col in expected if col not in names]
    errors += [
        f"{filename}:1: {h or '(blank)'}: unexpected column"
        for h, n in zip(header, names, strict=True)
        if n not in expected
    ]
    dupes = {n for n in names if names.count(n) > 1}
    errors += [f"{filename}:1: {n}: column appears twice" for n in sorted(dupes)]
    if errors:
        return [], errors
    index = {n: i for i, n in enumerate(names)}
    rows, seen = [], {}
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(names):
            errors.append(f"{filename}:{line}: (row): {len(record)} values for {len(names)} columns")
            continue
        value = {n: record[i].strip() for n, i in index.items()}
        row_errors = []
        code = value["practice_code"].upper()
        practice = practices_by_code.get(code)
        if not re.fullmatch(r"[A-Z]\d{5}", code):
            row_errors.append(
                f"{filename}:{line}: practice_code: {value['practice_code']!r} is not a practice code"
            )
        elif practice is None:
            row_errors.append(
                f"{filename}:{line}: practice_code: {code} is not a current practice of this PCN"
            )
        try:
            start = quarter_start(value["quarter"])
        except ValueError as exc:
            start = None
            row_errors.append(f"{filename}:{line}: quarter: {value['quarter']!r}: {exc}")
        counts = {}
        for col, _fld in COUNT_COLUMNS:
            raw = value[col].replace(",", "")
            if not re.fullmatch(r"\d+", raw):
                row_errors.append(
                    f"{filename}:{line}: {col}: {value[col]!r} is not a whole number of 0 or more"
                )
            else:
                counts[col] = int(raw)
        for num, den in PAIRS:
            if num in counts and den in counts and counts[num] > counts[den]:
                row_errors.append(
                    f"{filename}:{line}: {num}: {counts[num]} is more than {den} ({counts[den]})"
                )
        if practice is not None and start is not None:
            key = (code, start)
            if key in seen:
                row_errors.append(
                    f"{filename}:{line}: practice_code: {code} already has a row for {value['quarter']} (line {seen[key]})"
                )
            seen.setdefault(key, line)
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append(
            {"practice": practice, "quarter_start": start, **{fld: counts[col] for col, fld in COUNT_COLUMNS}}
        )
    if not errors and not rows:
        errors.append(f"{filename}:2: (rows): the file has no returns")
    return ([] if errors else rows), errors
