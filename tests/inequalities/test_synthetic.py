"""The synthetic England generator writes files the real importers accept, reproducibly."""

import csv
from pathlib import Path

from django.core.management import call_command

from inequalities.importers import IMPORTERS, import_file
from inequalities.models import (
    ICB,
    PCN,
    DeprivationProfile,
    Practice,
    PracticePCNMembership,
    Region,
    Registration,
    RegistrationSnapshot,
    SubICB,
)

OPEN = Path(__file__).resolve().parents[2] / "data" / "open"


def test_generate_synthetic_is_seeded_and_in_the_real_layout(tmp_path, db):
    call_command("generate_synthetic", "--out", str(tmp_path / "a"), "--practices", "40", "--seed", "7")
    call_command("generate_synthetic", "--out", str(tmp_path / "b"), "--practices", "40", "--seed", "7")
    a = (tmp_path / "a" / "gp-reg-pat-prac-lsoa-all.csv").read_bytes()
    assert a == (tmp_path / "b" / "gp-reg-pat-prac-lsoa-all.csv").read_bytes()
    with open(tmp_path / "a" / "gp-reg-pat-prac-lsoa-all.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "PUBLICATION",
        "EXTRACT_DATE",
        "PRACTICE_CODE",
        "PRACTICE_NAME",
        "LSOA_CODE",
        "SEX",
        "NUMBER_OF_PATIENTS",
    ]
    sizes = {}
    for r in rows:
        sizes[r["PRACTICE_CODE"]] = sizes.get(r["PRACTICE_CODE"], 0) + int(r["NUMBER_OF_PATIENTS"])
    assert len(sizes) == 40
    # List sizes 1k-40k, plus at most two small unknown-LSOA rows of under 25 patients each.
    assert all(1_000 <= n <= 40_050 for n in sizes.values())
    parsed = IMPORTERS["registrations"].parse(
        tmp_path / "a" / "gp-reg-pat-prac-lsoa-all.csv", source_name="a"
    )
    assert parsed.rows_accepted == len(rows) and parsed.meta["geography"] == "LSOA21"


def test_synthetic_files_import_and_profile(tmp_path, db):
    call_command("generate_synthetic", "--out", str(tmp_path), "--practices", "30", "--seed", "1")
    import_file("imd", OPEN / "File_1_IoD2025_Index_of_Multiple_Deprivation_IMD25.csv.gz")
    summary = import_file("practice_map", tmp_path / "gp-reg-pat-prac-map.csv")
    assert summary["layout"] == "practice map (SUB_ICB_LOCATION/ICB, from July 2022)"
    assert Practice.objects.count() == 30 and PCN.objects.count() == 6
    assert PracticePCNMembership.objects.current().count() == 30
    summary = import_file("registrations", tmp_path / "gp-reg-pat-prac-lsoa-all.csv")
    assert summary["practices_created"] == 0 and summary["rows"] == Registration.objects.count()
    england = DeprivationProfile.objects.get(level="england")
    assert england.registered_patients == summary["patients"]
    assert 0 < england.unknown_patients < england.registered_patients
    assert DeprivationProfile.objects.filter(level="pcn").count() == 6


def count_queries(fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_imports_and_profiles_are_set_based(tmp_path, db):
    """The number of queries does not grow with the number of practices or rows."""
    import_file("imd", OPEN / "File_1_IoD2025_Index_of_Multiple_Deprivation_IMD25.csv.gz")
    counts = {}
    for practices in (10, 60):
        out = tmp_path / str(practices)
        call_command("generate_synthetic", "--out", str(out), "--practices", str(practices), "--seed", "3")
        for model in (
            DeprivationProfile,
            RegistrationSnapshot,
            PracticePCNMembership,
            Practice,
            PCN,
            SubICB,
            ICB,
            Region,
        ):
            model.objects.all().delete()
        counts[practices] = (
            count_queries(lambda out=out: import_file("practice_map", out / "gp-reg-pat-prac-map.csv")),
            count_queries(lambda out=out: import_file("registrations", out / "gp-reg-pat-prac-lsoa-all.csv")),
        )
    assert counts[10] == counts[60]
