"""The real open-data files in data/open import, with the counts their publishers state.

The whole set is imported once for the module (a few seconds on SQLite) and cleared afterwards."""

from collections import Counter
from pathlib import Path

import pytest

from inequalities.importers import import_file
from inequalities.models import (
    ICB,
    PCN,
    DeprivationProfile,
    ImdEdition,
    LsoaDeprivation,
    LsoaLookup,
    Practice,
    PracticePCNMembership,
    Region,
    Registration,
    RegistrationSnapshot,
    SubICB,
)
from inequalities.names import nhs_title_case

OPEN = Path(__file__).resolve().parents[2] / "data" / "open"
FILES = {
    "lookup": ("lsoa_lookup", "lsoa11_lsoa21_ltla22_lookup.csv.gz"),
    "iod2019_file1": ("imd", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"),
    "iod2019_file2": ("imd", "File_2_-_IoD2019_Domains_of_Deprivation.csv.gz"),
    "iod2025_file1": ("imd", "File_1_IoD2025_Index_of_Multiple_Deprivation_IMD25.csv.gz"),
    "iod2025_scores": ("imd", "imd2025_england_lsoa21_scores_ranks_deciles.csv.gz"),
    "map": ("practice_map", "gp-reg-pat-prac-map_01Jan2022.csv.gz"),
    "pennine": ("registrations", "gp-reg-pat-prac-lsoa-all_APR2020_pennine_lancashire.csv.gz"),
    "epcn_details": ("epcn", "ePCN_2023-01_PCNDetails.csv.gz"),
    "epcn": ("epcn", "ePCN_2023-01_PCN_Core_Partner_Details.csv.gz"),
}
MODELS = [
    DeprivationProfile,
    Registration,
    RegistrationSnapshot,
    LsoaDeprivation,
    ImdEdition,
    LsoaLookup,
    PracticePCNMembership,
    Practice,
    PCN,
    SubICB,
    ICB,
    Region,
]
IOD2019_DECILE_SIZES = [3284, 3284, 3285, 3284, 3285, 3284, 3284, 3285, 3284, 3285]


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """Import every file in order; keep each summary and the state right after each import."""
    summaries, state = {}, {}
    with django_db_blocker.unblock():
        for key, (kind, name) in FILES.items():
            summaries[key] = import_file(kind, OPEN / name)
            if key == "map":
                state["map_current_pcn"] = dict(
                    PracticePCNMembership.objects.current().values_list("practice__code", "pcn__code")
                )
        yield summaries, state
        for model in MODELS:
            model.objects.all().delete()


def test_iod2019_file_1_has_the_published_decile_sizes(loaded):
    summary = loaded[0]["iod2019_file1"]
    assert summary["layout"] == "IoD2019 File 1"
    assert summary["rows_read"] == summary["lsoas"] == 32_844
    assert summary["decile_sizes"] == IOD2019_DECILE_SIZES
    assert summary["core20_lsoas"] == 6_568


def test_iod2019_file_2_replaces_the_edition_with_domains(loaded, db):
    summary = loaded[0]["iod2019_file2"]
    assert summary["layout"] == "IoD2019 File 2 (domains)" and summary["replaced"] == 32_844
    edition = ImdEdition.objects.get(year=2019)
    assert (edition.geography, edition.lsoa_count, edition.has_domains) == ("LSOA11", 32_844, True)
    deciles = Counter(edition.lsoas.values_list("decile", flat=True))
    assert [deciles[d] for d in range(1, 11)] == IOD2019_DECILE_SIZES
    assert edition.lsoas.filter(decile__lte=2).count() == 6_568
    assert edition.lsoas.filter(income_decile__isnull=True).count() == 0
    city = edition.lsoas.get(lsoa_code="E01000001")
    # File 1 writes "29,199" with a thousands separator; File 2 writes 29199: the same rank.
    assert (city.rank, city.decile, city.housing_decile, city.lsoa_name) == (
        29199,
        9,
        3,
        "City of London 001A",
    )


def test_iod2025_file_1_has_alternating_decile_sizes(loaded, db):
    summary = loaded[0]["iod2025_file1"]
    assert summary["layout"] == "IoD2025 File 1"
    assert summary["decile_sizes"] == [3375, 3376] * 5
    assert (summary["geography"], summary["lsoas"], summary["has_scores"]) == ("LSOA21", 33_755, False)


def test_iod2025_scores_file_adds_scores_and_keeps_names(loaded, db):
    summary = loaded[0]["iod2025_scores"]
    assert summary["layout"] == "IoD2025 scores file (not a published layout)"
    edition = ImdEdition.objects.get(year=2025)
    assert (edition.has_scores, edition.has_domains, edition.lsoa_count) == (True, True, 33_755)
    city = edition.lsoas.get(lsoa_code="E01000001")
    assert (city.score, city.rank, city.decile, city.living_environment_decile) == (8.742, 26525, 8, 1)
    assert city.lsoa_name == "City of London 001A"  # kept from File 1, which the scores file lacks


def test_lookup_is_loaded_with_change_indicators(loaded, db):
    summary = loaded[0]["lookup"]
    assert summary["layout"] == "LSOA 2011 to 2021 lookup (renamed columns)"
    assert summary["pairs"] == LsoaLookup.objects.count() == 35_795
    assert summary["changes"] == {"M": 239, "S": 1900, "U": 33647, "X": 9}


def test_january_2022_practice_map_builds_the_hierarchy(loaded, db):
    summary = loaded[0]["map"]
    assert summary["layout"] == "practice map (CCG/STP, pre-July 2022)"
    assert summary["practices"] == 6_527
    # The file has 1,255 distinct PCN codes: 1,254 PCNs and "U" (unallocated, 68 practices).
    assert summary["pcns"] == 1_254 and summary["warnings"] == [
        "68 practices have no PCN (PCN code U, unallocated)"
    ]
    assert (summary["sub_icbs"], summary["icbs"], summary["regions"]) == (106, 42, 7)
    assert len(loaded[1]["map_current_pcn"]) == 6_527 - 68
    practice = Practice.objects.select_related("sub_icb__icb__region").get(code="A81001")
    assert practice.name == "THE DENSHAM SURGERY" and practice.display_name == "The Densham Surgery"
    assert (practice.sub_icb.code, practice.sub_icb.icb.code, practice.sub_icb.icb.region.code) == (
        "16C",
        "QHM",
        "Y63",
    )
    assert practice.sub_icb.ons_code == "E38000247" and practice.sub_icb.icb.ons_code == "E54000050"
    assert nhs_title_case(PCN.objects.get(code="U89141").name) == "Stockton PCN"


def test_pennine_registrations_import_with_unknowns_kept(loaded, db):
    summary = loaded[0]["pennine"]
    assert summary["layout"] == "GP registrations by LSOA"
    assert (summary["rows"], summary["practices"], summary["patients"]) == (8_640, 262, 589_463)
    assert summary["geography"] == "LSOA11" and summary["extract_date"] == "2020-04-01"
    snapshot = RegistrationSnapshot.objects.get()
    assert snapshot.row_count == Registration.objects.count() == 8_640
    assert Registration.objects.filter(lsoa_code="NO2011").count() == 36
    # 12 practices had closed or merged by January 2022: created without a PCN, with a warning.
    assert summary["practices_created"] == 12
    assert summary["warnings"][0].startswith("12 practices in the file are not in the organisation data")


def test_epcn_files_update_pcns_and_memberships(loaded, db):
    details, core = loaded[0]["epcn_details"], loaded[0]["epcn"]
    assert details["layout"] == "ePCN PCN details" and details["rows_read"] == 1_329
    assert core["layout"] == "ePCN core partner details" and core["rows_read"] == 7_455
    # PCNs whose sub-ICB location (a 2023 code) the January 2022 map does not know are skipped.
    assert core["rows_accepted"] + core["rows_rejected"] == 7_455 and core["rows_rejected"] == 96
    assert core["relationships"] == 7_359
    assert all("is not known (import the practice map first)" in w for w in core["warnings"])
    # Every accepted ePCN row is a dated membership; the map's undated ones were replaced for the
    # practices the ePCN lists.
    assert PracticePCNMembership.objects.filter(start_date__isnull=False).count() == 7_359
    assert core["memberships_removed"] > 6_000
    densham = PracticePCNMembership.objects.current().get(practice__code="A81001")
    assert (densham.pcn.code, str(densham.start_date)) == ("U89141", "2019-10-01")


def test_profiles_exist_for_both_editions_with_the_method_stated(loaded, db):
    snapshot = RegistrationSnapshot.objects.get()
    england = {
        p.edition.year: p for p in DeprivationProfile.objects.filter(level="england", snapshot=snapshot)
    }
    assert set(england) == {2019, 2025}
    for profile in england.values():
        assert profile.registered_patients == 589_463
    assert "on the register's LSOA 2011 codes" in england[2019].method
    assert "via the ONS LSOA 2011-2021 lookup" in england[2025].method
    # 36 NO2011 rows and any blank/Welsh rows are unknown under both editions.
    assert england[2019].unknown_patients == snapshot.unknown_lsoa_patients == 103
    assert england[2025].unknown_patients >= 103
    # IoD2025 carries scores: population-weighted scores and national quintiles of practices.
    assert england[2019].imd_score is None and 5 < england[2025].imd_score < 60
    practices = DeprivationProfile.objects.filter(
        level="practice", edition__year=2025, imd_score__isnull=False
    )
    assert sorted(set(practices.values_list("imd_score_quintile", flat=True))) == [1, 2, 3, 4, 5]


def test_reimporting_the_same_registrations_changes_nothing(loaded, db):
    before = sorted(Registration.objects.values_list("practice_code", "lsoa_code", "patients"))
    profiles = sorted(
        DeprivationProfile.objects.values_list(
            "level", "code", "edition__year", "registered_patients", "core20_patients"
        )
    )
    summary = import_file("registrations", OPEN / FILES["pennine"][1])
    assert summary["replaced_rows"] == 8_640 and summary["practices_created"] == 0
    assert sorted(Registration.objects.values_list("practice_code", "lsoa_code", "patients")) == before
    assert (
        sorted(
            DeprivationProfile.objects.values_list(
                "level", "code", "edition__year", "registered_patients", "core20_patients"
            )
        )
        == profiles
    )


def test_a_file_7_shaped_file_is_recognised_with_scores_and_all_domains(db, tmp_path):
    """File 7 itself is not in data/open: this one is built from File 2's values in File 7's
    published column layout (57 columns; scores made up), to check recognition and storage."""
    import pandas as pd

    file2 = pd.read_csv(OPEN / FILES["iod2019_file2"][1], dtype=str, encoding="utf-8-sig")
    imd = "Index of Multiple Deprivation (IMD)"
    where_rank, where_decile = "(where 1 is most deprived)", "(where 1 is most deprived 10% of LSOAs)"
    out = file2.iloc[:, :4].copy()
    out[f"{imd} Score"] = (100 - file2.iloc[:, 4].astype(int) / 1000).round(3)
    out[f"{imd} Rank {where_rank}"] = file2.iloc[:, 4]
    out[f"{imd} Decile {where_decile}"] = file2.iloc[:, 5]
    domains = [
        "Income",
        "Employment",
        "Education, Skills and Training",
        "Health Deprivation and Disability",
        "Crime",
        "Barriers to Housing and Services",
        "Living Environment",
    ]
    for i, domain in enumerate(domains):
        out[f"{domain} Score"] = "0.1"
        out[f"{domain} Rank {where_rank}"] = file2.iloc[:, 6 + 2 * i]
        out[f"{domain} Decile {where_decile}"] = file2.iloc[:, 7 + 2 * i]
    for domain in [
        "Income Deprivation Affecting Children Index (IDACI)",
        "Income Deprivation Affecting Older People (IDAOPI)",
    ]:
        out[f"{domain} Score (rate)"] = "0.1"
        out[f"{domain} Rank {where_rank}"] = file2.iloc[:, 6]
        out[f"{domain} Decile {where_decile}"] = file2.iloc[:, 7]
    out["Total population: mid 2015 (excluding prisoners)"] = "1500"
    path = tmp_path / "File_7.csv"
    out.to_csv(path, index=False)

    summary = import_file("imd", path)
    assert summary["layout"] == "IoD2019 File 7"
    assert (summary["has_scores"], summary["has_domains"]) == (True, True)
    assert summary["decile_sizes"] == IOD2019_DECILE_SIZES
    city = ImdEdition.objects.get(year=2019).lsoas.get(lsoa_code="E01000001")
    assert (city.score, city.idaci_decile, city.housing_decile) == (70.801, 10, 3)
