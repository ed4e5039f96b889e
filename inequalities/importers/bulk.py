"""Set-based loading of a DataFrame into a model's table.

PostgreSQL: `COPY ... FROM STDIN` (psycopg2 `copy_expert`) of a CSV rendered by pandas — an order
of magnitude faster than INSERTs for the registrations file (~1.2 M rows). Other databases
(SQLite, the embedded default): one parameterised `executemany` INSERT in batches. Both run on the
caller's connection, inside the caller's transaction; neither commits.
"""

import io

import numpy as np
import pandas as pd
from django.db import connection

BATCH = 20_000


def _csv_value(text: str) -> str:
    if text == "" or any(ch in text for ch in ',"\n\r\\'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _column_texts(series: pd.Series):
    """The column rendered as CSV fields (a list). NULL is \\N; an empty string is "" (quoted) so
    that a blank LSOA stays an empty string rather than becoming NULL."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        rendered = np.array([_csv_value(str(c)) for c in series.cat.categories] + ["\\N"], dtype=object)
        codes = series.cat.codes.to_numpy()
        return rendered[np.where(codes < 0, len(rendered) - 1, codes)].tolist()
    if pd.api.types.is_integer_dtype(series.dtype) and not series.hasnans:
        return series.astype(np.int64).astype(str).tolist()
    return ["\\N" if _isnull(v) else _csv_value(str(_py(v))) for v in series.tolist()]


def render_csv(frame: pd.DataFrame, columns: list[str]) -> io.StringIO:
    """CSV for COPY, built from per-column string lists (about twice as fast as `to_csv` on the
    registrations file, mostly because categoricals are rendered once per category)."""
    texts = [_column_texts(frame[c]) for c in columns]
    buf = io.StringIO()
    if texts:
        buf.write("\n".join(map(",".join, zip(*texts, strict=True))))
        buf.write("\n")
    buf.seek(0)
    return buf


class ChunkedCsv:
    """A file-like object for `copy_expert` that renders the CSV a slice at a time, so that the
    client renders the next slice while the server is still parsing the previous one."""

    def __init__(self, frame, columns, rows_per_chunk=200_000):
        self.frame = frame[columns]
        self.columns = columns
        self.step = rows_per_chunk
        self.start = 0
        self.pending = ""

    def read(self, size=-1):
        while (size < 0 or len(self.pending) < size) and self.start < len(self.frame):
            chunk = self.frame.iloc[self.start : self.start + self.step]
            self.pending += render_csv(chunk, self.columns).getvalue()
            self.start += self.step
        if size < 0 or size >= len(self.pending):
            out, self.pending = self.pending, ""
        else:
            out, self.pending = self.pending[:size], self.pending[size:]
        return out

    readline = read


def copy_into(table: str, frame: pd.DataFrame, columns: list[str], *, freeze=False) -> int:
    """PostgreSQL COPY of `frame[columns]` into `table` (quoted here), on the current connection.
    `freeze`: write the rows frozen (only for a table created in this transaction)."""
    qn = connection.ops.quote_name
    options = "FORMAT csv, NULL '\\N'" + (", FREEZE true" if freeze else "")
    sql = f"COPY {qn(table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN WITH ({options})"
    # The raw psycopg2 cursor bypasses Django's error translation: restore it (IntegrityError...).
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.cursor.copy_expert(sql, ChunkedCsv(frame, list(columns)), size=1 << 20)
    return len(frame)


def load_frame(model, frame: pd.DataFrame, columns: list[str]):
    """Insert `frame[columns]` into `model`'s table (columns are database column names)."""
    if not len(frame):
        return 0
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        return copy_into(table, frame, columns)
    qn = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * len(columns))
    # Identifiers come from the model's own metadata and are quoted; values are parameters.
    sql = f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in columns)}) VALUES ({placeholders})"  # noqa: S608
    data = frame[columns]
    with connection.cursor() as cursor:
        for start in range(0, len(data), BATCH):
            chunk = data.iloc[start : start + BATCH]
            rows = [
                tuple(None if _isnull(v) else _py(v) for v in row)
                for row in chunk.itertuples(index=False, name=None)
            ]
            cursor.executemany(sql, rows)
    return len(frame)


def _isnull(value):
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _py(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
