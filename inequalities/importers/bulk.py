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


def load_frame(model, frame: pd.DataFrame, columns: list[str]):
    """Insert `frame[columns]` into `model`'s table (columns are database column names)."""
    if not len(frame):
        return 0
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        buf = io.StringIO()
        # NULL is \N so that an empty string stays an empty string (a blank LSOA is '' not NULL).
        frame[columns].to_csv(buf, index=False, header=False, na_rep="\\N")
        buf.seek(0)
        qn = connection.ops.quote_name
        sql = (
            f"COPY {qn(table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        )
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(sql, buf)
        return len(frame)
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
