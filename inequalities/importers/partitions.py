"""PostgreSQL: registrations partitioned by snapshot, so that a national file is swapped in whole.

Loading ~1.2 M rows into a table whose key index is maintained row by row costs ~3 s; loading
them into a fresh table and building the index afterwards costs ~1.5 s, and replacing a snapshot
becomes DROP of the old partition instead of DELETE of 1.2 M rows. So on PostgreSQL (after
migration 0004) `inequalities_registration` is partitioned BY LIST (snapshot_id), with a DEFAULT
partition for rows written through the ORM. An import:

1. creates a staging table shaped like the parent, with the snapshot's id as the default
   snapshot_id and a CHECK that makes ATTACH skip its validation scan;
2. COPYs the rows in, then builds the primary key (snapshot, practice, LSOA);
3. detaches and drops the snapshot's previous partition (and deletes any of its rows in the
   default partition), then attaches the staging table as the snapshot's partition.

Every step is transactional DDL inside the importer's transaction: a failure or a killed worker
leaves the previous partition in place. Without the migration (the test database is built from
the models) the table is plain and the importer falls back to DELETE + COPY.
"""

# DDL cannot take identifiers as parameters: every name here is a module constant or built from an
# int snapshot id and a random hex token, and quoted; every value is a parameter or an int.
# ruff: noqa: S608

import secrets

from django.db import connection

from .bulk import copy_into

TABLE = "inequalities_registration"
DEFAULT_PARTITION = f"{TABLE}_default"


def qn(name):
    return connection.ops.quote_name(name)


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)",
            [TABLE],
        )
        return cursor.fetchone() is not None


def _partitions_of(snapshot_id):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = to_regclass(%s)
              AND pg_get_expr(c.relpartbound, c.oid) = %s
            """,
            [TABLE, f"FOR VALUES IN ('{int(snapshot_id)}')"],
        )
        return [row[0] for row in cursor.fetchall()]


def swap_in(snapshot_id: int, frame, columns=("practice_code", "lsoa_code", "patients")) -> dict:
    """Load `frame` as the whole of snapshot `snapshot_id`, replacing what it held."""
    snapshot_id = int(snapshot_id)
    stage = f"{TABLE}_s{snapshot_id}_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        # A partition is written once and replaced whole, never updated: its rows are loaded
        # frozen (COPY FREEZE), so autovacuum has nothing to do there, and leaving it off keeps
        # an auto-ANALYZE from holding up the DETACH of this partition at the next import.
        cursor.execute(
            f"CREATE TABLE {qn(stage)} (LIKE {qn(TABLE)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
            "WITH (autovacuum_enabled = false)"
        )
        cursor.execute(
            f"ALTER TABLE {qn(stage)} ALTER COLUMN snapshot_id SET DEFAULT {snapshot_id}, "
            f"ADD CONSTRAINT {qn(stage + '_ck')} CHECK (snapshot_id = {snapshot_id})"
        )
    copy_into(stage, frame, list(columns), freeze=True)
    with connection.cursor() as cursor:
        # The primary key is built once over the loaded rows, not maintained row by row.
        cursor.execute(
            f"ALTER TABLE {qn(stage)} ADD CONSTRAINT {qn(stage + '_pk')} "
            "PRIMARY KEY (snapshot_id, practice_code, lsoa_code)"
        )
        dropped = 0
        for old in _partitions_of(snapshot_id):
            cursor.execute(f"ALTER TABLE {qn(TABLE)} DETACH PARTITION {qn(old)}")
            cursor.execute(f"DROP TABLE {qn(old)}")
            dropped += 1
        cursor.execute(f"DELETE FROM {qn(DEFAULT_PARTITION)} WHERE snapshot_id = %s", [snapshot_id])
        cursor.execute(f"ALTER TABLE {qn(TABLE)} ATTACH PARTITION {qn(stage)} FOR VALUES IN ({snapshot_id})")
    return {"partition": stage, "partitions_dropped": dropped}


# --- Migration helpers ---------------------------------------------------------------------------

COLUMNS = """
    practice_code varchar(12) NOT NULL,
    lsoa_code varchar(12) NOT NULL,
    patients integer NOT NULL CONSTRAINT inequalities_registration_patients_check CHECK (patients >= 0),
    snapshot_id bigint NOT NULL,
    CONSTRAINT inequalities_registration_pkey PRIMARY KEY (snapshot_id, practice_code, lsoa_code)
"""
PARTITIONED_DDL = f"""
CREATE TABLE {TABLE} ({COLUMNS}) PARTITION BY LIST (snapshot_id);
CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT;
"""
PLAIN_DDL = f"CREATE TABLE {TABLE} ({COLUMNS});"


def _rebuild(cursor, ddl):
    cursor.execute(f"CREATE TEMPORARY TABLE registration_move ON COMMIT DROP AS TABLE {TABLE}")
    cursor.execute(f"DROP TABLE {TABLE} CASCADE")
    cursor.execute(ddl)
    cursor.execute(
        f"INSERT INTO {TABLE} (practice_code, lsoa_code, patients, snapshot_id) "
        "SELECT practice_code, lsoa_code, patients, snapshot_id FROM registration_move"
    )
    cursor.execute("DROP TABLE registration_move")


def partition(schema_editor=None):
    """Make the registrations table partitioned by snapshot (PostgreSQL only; keeps the rows)."""
    conn = schema_editor.connection if schema_editor else connection
    if conn.vendor != "postgresql" or is_partitioned():
        return
    with conn.cursor() as cursor:
        _rebuild(cursor, PARTITIONED_DDL)


def unpartition(schema_editor=None):
    conn = schema_editor.connection if schema_editor else connection
    if conn.vendor != "postgresql" or not is_partitioned():
        return
    with conn.cursor() as cursor:
        _rebuild(cursor, PLAIN_DDL)
