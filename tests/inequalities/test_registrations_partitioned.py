"""PostgreSQL: registrations partitioned by snapshot (migration 0004) are swapped in whole.

The test database is built from the models (plain table), so each test partitions it inside its
own transaction; PostgreSQL's transactional DDL undoes that at the end of the test."""

import pytest
from django.db import IntegrityError, connection, transaction

from inequalities.importers import IMPORTERS, apply_parsed, import_file, partitions
from inequalities.models import Registration, RegistrationSnapshot

HEADER = "PUBLICATION,EXTRACT_DATE,PRACTICE_CODE,PRACTICE_NAME,LSOA_CODE,SEX,NUMBER_OF_PATIENTS"


def registrations_file(tmp_path, rows, name="reg.csv"):
    lines = [HEADER] + [f"GP_PRAC_PAT_LIST,01APR2020,{p},NAME,{lsoa},ALL,{n}" for p, lsoa, n in rows]
    path = tmp_path / name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def partition_names():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'inequalities_registration'::regclass ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def partitioned(db):
    if connection.vendor != "postgresql":
        pytest.skip("partitioning is PostgreSQL only")
    partitions.partition()
    assert partitions.is_partitioned()


def test_import_swaps_the_snapshot_partition(partitioned, tmp_path):
    import_file(
        "registrations", registrations_file(tmp_path, [("A81001", "E01000001", 5), ("A81001", "", 2)])
    )
    snapshot = RegistrationSnapshot.objects.get()
    first = [p for p in partition_names() if p.startswith(f"inequalities_registration_s{snapshot.pk}_")]
    assert len(first) == 1

    summary = import_file(
        "registrations", registrations_file(tmp_path, [("A81002", "E01000002", 9)], "b.csv")
    )
    assert summary["replaced_rows"] == 2
    assert list(Registration.objects.values_list("practice_code", "lsoa_code", "patients")) == [
        ("A81002", "E01000002", 9)
    ]
    second = [p for p in partition_names() if p.startswith(f"inequalities_registration_s{snapshot.pk}_")]
    assert len(second) == 1 and second != first
    # A blank LSOA stays an empty string through COPY, not NULL.
    import_file("registrations", registrations_file(tmp_path, [("A81001", "", 2)], "c.csv"))
    assert Registration.objects.get().lsoa_code == ""


def test_rows_written_through_the_orm_land_in_the_default_partition_and_are_replaced(partitioned, tmp_path):
    import_file("registrations", registrations_file(tmp_path, [("A81001", "E01000001", 5)]))
    snapshot = RegistrationSnapshot.objects.get()
    other = RegistrationSnapshot.objects.create(extract_date="2021-01-04", geography="LSOA11")
    Registration.objects.create(snapshot=other, practice_code="A81001", lsoa_code="E01000003", patients=1)
    Registration.objects.create(snapshot=snapshot, practice_code="A81003", lsoa_code="E01000003", patients=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        # The key is enforced across the partitioned table.
        Registration.objects.create(snapshot=other, practice_code="A81001", lsoa_code="E01000003", patients=2)
    import_file("registrations", registrations_file(tmp_path, [("A81001", "E01000001", 6)], "b.csv"))
    assert sorted(Registration.objects.values_list("snapshot_id", "practice_code", "patients")) == [
        (snapshot.pk, "A81001", 6),
        (other.pk, "A81001", 1),
    ]


def test_failed_swap_keeps_the_previous_partition(partitioned, tmp_path):
    import_file("registrations", registrations_file(tmp_path, [("A81001", "E01000001", 5)]))
    before = partition_names()
    parsed = IMPORTERS["registrations"].parse(
        registrations_file(tmp_path, [("A81001", "E01000001", 5), ("A81001", "E01000002", 1)], "b.csv"),
        source_name="b.csv",
    )
    parsed.frame.loc[1, "patients"] = -1  # a corrupt row past validation: the CHECK fails mid-COPY
    with pytest.raises(IntegrityError), transaction.atomic():
        apply_parsed("registrations", parsed)
    assert partition_names() == before
    assert list(Registration.objects.values_list("practice_code", "lsoa_code", "patients")) == [
        ("A81001", "E01000001", 5)
    ]


def test_unpartition_keeps_the_rows(partitioned, tmp_path):
    import_file("registrations", registrations_file(tmp_path, [("A81001", "E01000001", 5)]))
    partitions.unpartition()
    assert not partitions.is_partitioned()
    assert Registration.objects.get().patients == 5
