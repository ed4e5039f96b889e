"""Deprivation profiles: the pure computation on hand-made data, and the acceptance check that the
PCN export after the real IoD2019 File 1 + January 2022 map + Pennine Lancashire registrations
matches an independent plain-Python computation over the input rows."""

import csv
import gzip
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command

from inequalities.importers import import_file
from inequalities.models import (
    ICB,
    PCN,
    DeprivationProfile,
    ImdEdition,
    LsoaDeprivation,
    Practice,
    PracticePCNMembership,
    Region,
    Registration,
    RegistrationSnapshot,
    SubICB,
)
from inequalities.profiles import EXPORT_HEADER, compute_profiles, crosswalk

OPEN = Path(__file__).resolve().parents[2] / "data" / "open"
IMD = OPEN / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"
MAP = OPEN / "gp-reg-pat-prac-map_01Jan2022.csv.gz"
REGISTRATIONS = OPEN / "gp-reg-pat-prac-lsoa-all_APR2020_pennine_lancashire.csv.gz"

HIERARCHY = {
    "practice_pcn": {"P1": "U1", "P2": "U1"},  # P3 has no PCN
    "pcn_parent": {"U1": "S1"},
    "sub_icb_parent": {"S1": "Q1"},
    "icb_parent": {"Q1": "Y1"},
    "names": {"practice": {"P1": "ONE"}, "pcn": {"U1": "PCN ONE"}},
}
LSOAS = pd.DataFrame(
    {
        "lsoa_code": ["E01000001", "E01000002", "E01000003"],
        "rank": [10, 5000, 30000],
        "decile": [1, 2, 10],
        "score": [60.0, 30.0, 2.0],
    }
)


def registrations(rows):
    return pd.DataFrame(rows, columns=["practice_code", "lsoa_code", "patients"])


def by_level(frame):
    return {(r.level, r.code): r for r in frame.itertuples(index=False)}


def test_compute_profiles_counts_unknowns_and_rolls_up():
    regs = registrations(
        [
            ("P1", "E01000001", 10),
            ("P1", "E01000003", 30),
            ("P1", "", 2),  # blank
            ("P1", "W01000001", 3),  # Welsh
            ("P2", "E01000002", 5),
            ("P2", "NO2011", 4),  # pseudo
            ("P2", "E01999999", 1),  # not in the edition
            ("P3", "E01000001", 7),  # no PCN: practice and England only
        ]
    )
    out = by_level(compute_profiles(regs, LSOAS, HIERARCHY))
    assert set(out) == {
        ("practice", "P1"),
        ("practice", "P2"),
        ("practice", "P3"),
        ("pcn", "U1"),
        ("sub_icb", "S1"),
        ("icb", "Q1"),
        ("region", "Y1"),
        ("england", "E92000001"),
    }
    p1 = out[("practice", "P1")]
    assert (p1.registered_patients, p1.core20_patients, p1.unknown_patients) == (45, 10, 5)
    assert p1.deciles == [10, 0, 0, 0, 0, 0, 0, 0, 0, 30] and p1.name == "ONE"
    # Patient-weighted score over patients with a known LSOA: (10*60 + 30*2) / 40.
    assert p1.imd_score == pytest.approx(16.5)
    pcn = out[("pcn", "U1")]
    assert (pcn.registered_patients, pcn.core20_patients, pcn.unknown_patients) == (55, 15, 10)
    assert pcn.name == "PCN ONE"
    for level, code in [("sub_icb", "S1"), ("icb", "Q1"), ("region", "Y1")]:
        assert out[(level, code)].registered_patients == 55
    england = out[("england", "E92000001")]
    assert (england.registered_patients, england.core20_patients, england.unknown_patients) == (62, 22, 10)
    assert england.name == "England"


def test_compute_profiles_without_scores_leaves_the_score_empty():
    regs = registrations([("P1", "E01000001", 4)])
    out = by_level(compute_profiles(regs, LSOAS.drop(columns="score").assign(score=float("nan")), HIERARCHY))
    assert pd.isna(out[("practice", "P1")].imd_score)


def test_score_quintiles_put_the_most_deprived_fifth_first():
    hierarchy = {**HIERARCHY, "practice_pcn": {}}
    rows = [
        (f"P{i}", code, 10)
        for i, code in enumerate(["E01000001"] * 2 + ["E01000002"] * 4 + ["E01000003"] * 4)
    ]
    out = compute_profiles(registrations(rows), LSOAS, hierarchy)
    practices = out[out["level"] == "practice"].set_index("code")
    assert practices.loc["P0", "imd_score_quintile"] == 1
    assert practices.loc["P9", "imd_score_quintile"] == 5


def test_crosswalk_split_takes_the_parent_and_merge_takes_the_median():
    edition = pd.DataFrame(
        {
            "lsoa_code": ["E01000001", "E01000002", "E01000003", "E01000004"],
            "rank": [100, 200, 300, 20000],
            "decile": [1, 1, 1, 7],
            "score": [50.0, 40.0, 30.0, 5.0],
        }
    )
    lookup = pd.DataFrame(
        {
            # E01000001 split into two 2021 LSOAs; E01000002-4 merged into one.
            "lsoa11_code": ["E01000001", "E01000001", "E01000002", "E01000003", "E01000004"],
            "lsoa21_code": ["E01035001", "E01035002", "E01035003", "E01035003", "E01035003"],
        }
    )
    out = crosswalk(edition, lookup, edition_geography="LSOA11", register_geography="LSOA21").set_index(
        "lsoa_code"
    )
    assert out.loc["E01035001", "decile"] == out.loc["E01035002", "decile"] == 1
    # Median-ranked of ranks 200, 300, 20000 is 300.
    assert out.loc["E01035003", "rank"] == 300


def test_crosswalk_on_the_same_geography_is_the_edition_itself():
    assert crosswalk(LSOAS, pd.DataFrame(), edition_geography="LSOA11", register_geography="LSOA11") is LSOAS


# --- Acceptance on real files --------------------------------------------------------------------

MODELS = [
    DeprivationProfile,
    Registration,
    RegistrationSnapshot,
    LsoaDeprivation,
    ImdEdition,
    PracticePCNMembership,
    Practice,
    PCN,
    SubICB,
    ICB,
    Region,
]


@pytest.fixture(scope="module")
def pennine(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        import_file("imd", IMD)
        import_file("practice_map", MAP)
        import_file("registrations", REGISTRATIONS)
        yield
        for model in MODELS:
            model.objects.all().delete()


def rows_of(path):
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh)


def independent_pcn_counts():
    """Plain Python over the three input files, sharing no code with the importers."""
    decile = {
        r["LSOA code (2011)"]: int(r["Index of Multiple Deprivation (IMD) Decile"]) for r in rows_of(IMD)
    }
    pcn_of = {r["PRACTICE_CODE"]: r["PCN_CODE"] for r in rows_of(MAP) if r["PCN_CODE"] != "U"}
    counts = defaultdict(lambda: {"registered": 0, "core20": 0, "unknown": 0})
    for r in rows_of(REGISTRATIONS):
        if r["SEX"] != "ALL" or r["PRACTICE_CODE"] not in pcn_of:
            continue
        n = int(r["NUMBER_OF_PATIENTS"])
        c = counts[pcn_of[r["PRACTICE_CODE"]]]
        c["registered"] += n
        d = decile.get(r["LSOA_CODE"])
        if d is None:
            c["unknown"] += n
        elif d <= 2:
            c["core20"] += n
    return dict(counts)


def test_export_profiles_pcn_matches_an_independent_computation(pennine, db, tmp_path):
    out = tmp_path / "pcn.csv"
    call_command("export_profiles", "--level", "pcn", "--out", str(out))
    with open(out, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames[:19] == EXPORT_HEADER[:19]
        exported = list(reader)
    expected = independent_pcn_counts()
    got = {
        r["code"]: {
            "registered": int(r["registered_patients"]),
            "core20": int(r["core20_patients"]),
            "unknown": int(r["unknown_patients"]),
        }
        for r in exported
    }
    assert got == expected
    assert len(got) == 82
    row = next(r for r in exported if r["code"] == max(expected, key=lambda c: expected[c]["registered"]))
    assert row["level"] == "pcn" and row["imd_edition"] == "2019" and row["extract_date"] == "2020-04-01"
    deciles = [int(row[f"decile_{d}"]) for d in range(1, 11)]
    assert sum(deciles) + int(row["unknown_patients"]) == int(row["registered_patients"])
    known = int(row["registered_patients"]) - int(row["unknown_patients"])
    assert float(row["core20_share"]) == pytest.approx(int(row["core20_patients"]) / known, abs=1e-4)


def test_export_profiles_england_and_practices_cover_every_patient(pennine, db, tmp_path):
    out = tmp_path / "england.csv"
    call_command("export_profiles", "--level", "england", "--out", str(out))
    with open(out, newline="", encoding="utf-8") as fh:
        (england,) = list(csv.DictReader(fh))
    assert england["code"] == "E92000001" and int(england["registered_patients"]) == 589_463
    practices = DeprivationProfile.objects.filter(level="practice")
    assert practices.count() == 262
    assert sum(p.registered_patients for p in practices) == 589_463
