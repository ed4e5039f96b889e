"""Bad input is rejected with `file:line: column: problem` and changes nothing.

A module-scoped baseline (real IoD2019 File 1, a small practice map, a small registrations
snapshot, an LSOA lookup) is loaded once; every test tries to import a bad file over it and
asserts both the message and that every row of every affected table is unchanged."""

import gzip
import io
import zipfile
from pathlib import Path

import pytest
from django.db import IntegrityError

from inequalities.importers import IMPORTERS, ImportRejected, apply_parsed, import_file
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

OPEN = Path(__file__).resolve().parents[2] / "data" / "open"
IOD2019_FILE_1 = OPEN / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"

REG_HEADER = "PUBLICATION,EXTRACT_DATE,PRACTICE_CODE,PRACTICE_NAME,LSOA_CODE,SEX,NUMBER_OF_PATIENTS"
MAP_HEADER = (
    "PUBLICATION,EXTRACT_DATE,PRACTICE_CODE,PRACTICE_NAME,PRACTICE_POSTCODE,ONS_SUB_ICB_LOCATION_CODE,"
    "SUB_ICB_LOCATION_CODE,SUB_ICB_LOCATION_NAME,ONS_ICB_CODE,ICB_CODE,ICB_NAME,ONS_COMM_REGION_CODE,"
    "COMM_REGION_CODE,COMM_REGION_NAME,PCN_CODE,PCN_NAME,SUPPLIER_NAME"
)


def reg_row(practice="A81001", lsoa="E01000001", patients="7", sex="ALL", date="04JAN2021", name="DENSHAM"):
    return f"GP_PRAC_PAT_LIST,{date},{practice},{name},{lsoa},{sex},{patients}"


def map_row(practice="A81001", pcn="U89141", sub="16C", icb="QHM", region="Y63"):
    return (
        f"GP_PRAC_PAT_LIST,01Jan2022,{practice},THE DENSHAM SURGERY,TS18 1HU,E38000247,{sub},"
        f"NHS TEES VALLEY,E54000050,{icb},NORTH EAST,E40000012,{region},NORTH EAST AND YORKSHIRE,"
        f"{pcn},STOCKTON PCN,TPP"
    )


GOOD_REGISTRATIONS = "\n".join(
    [
        REG_HEADER,
        reg_row(),
        reg_row(lsoa="E01000002", patients="12"),
        reg_row(practice="A81002", lsoa="E01000001", patients="3"),
        reg_row(practice="A81002", lsoa="", patients="1"),
    ]
)
GOOD_MAP = "\n".join([MAP_HEADER, map_row(), map_row(practice="A81002")])
GOOD_LOOKUP = "lsoa11_code,change_code,lsoa21_code\nE01000001,U,E01000001\nE01000002,S,E01033999\n"


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


TABLES = [
    ImdEdition,
    LsoaDeprivation,
    LsoaLookup,
    RegistrationSnapshot,
    Registration,
    DeprivationProfile,
    Region,
    ICB,
    SubICB,
    PCN,
    Practice,
    PracticePCNMembership,
]


def every_row():
    """Every row of every table an import touches (timestamps included)."""
    return {model.__name__: sorted(model.objects.values_list(), key=repr) for model in TABLES}


@pytest.fixture(scope="module")
def baseline(django_db_setup, django_db_blocker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("baseline")
    with django_db_blocker.unblock():
        import_file("imd", IOD2019_FILE_1)
        import_file("lsoa_lookup", write(tmp, "lookup.csv", GOOD_LOOKUP))
        import_file("practice_map", write(tmp, "map.csv", GOOD_MAP))
        import_file("registrations", write(tmp, "reg.csv", GOOD_REGISTRATIONS))
        rows = every_row()
        yield rows
        for model in reversed(TABLES):
            model.objects.all().delete()


@pytest.fixture
def unchanged(baseline, db):
    yield
    assert every_row() == baseline


def rejected(kind, path, **kwargs):
    with pytest.raises(ImportRejected) as info:
        import_file(kind, path, **kwargs)
    return info.value


def test_baseline_is_loaded(baseline, db):
    assert Registration.objects.count() == 4
    assert DeprivationProfile.objects.filter(level="england").get().registered_patients == 23


def test_empty_file_is_rejected(tmp_path, unchanged):
    exc = rejected("registrations", write(tmp_path, "reg.csv", ""))
    assert exc.errors == ["reg.csv: the file is empty"]


def test_header_without_rows_is_rejected(tmp_path, unchanged):
    exc = rejected("registrations", write(tmp_path, "reg.csv", REG_HEADER + "\n"))
    assert exc.errors == ["reg.csv: the file has a header but no data rows"]


def test_unknown_layout_is_rejected(tmp_path, unchanged):
    exc = rejected("registrations", write(tmp_path, "reg.csv", "name,colour\nfred,blue\n"))
    assert exc.errors == [
        "reg.csv: unknown layout: the header does not match any of: GP registrations by LSOA"
    ]


def test_missing_column_is_named(tmp_path, unchanged):
    text = GOOD_REGISTRATIONS.replace(",SEX,", ",").replace(",ALL,", ",")
    exc = rejected("registrations", write(tmp_path, "reg.csv", text))
    assert exc.errors == ["reg.csv: missing column for the GP registrations by LSOA layout: 'SEX'"]


def test_duplicated_column_is_rejected(tmp_path, unchanged):
    text = GOOD_REGISTRATIONS.replace("NUMBER_OF_PATIENTS", "NUMBER_OF_PATIENTS, sex ")
    text = "\n".join(line if i == 0 else line + ",ALL" for i, line in enumerate(text.splitlines()))
    exc = rejected("registrations", write(tmp_path, "reg.csv", text))
    assert exc.errors == ["reg.csv:1: sex: duplicated column (also column 6)"]


def test_bad_lsoa_and_practice_codes_are_rejected_with_lines(tmp_path, unchanged):
    text = "\n".join(
        [REG_HEADER, reg_row(), reg_row(lsoa="E0100001"), reg_row(practice="A8100", lsoa="E01000003")]
    )
    exc = rejected("registrations", write(tmp_path, "reg.csv", text))
    assert exc.errors == [
        "reg.csv:3: LSOA_CODE: 'E0100001' is not an LSOA code (E01/W01 and 6 digits) or a known pseudo code",
        "reg.csv:4: PRACTICE_CODE: 'A8100' is not a practice ODS code (a letter and 5 digits)",
    ]
    assert exc.layout == "GP registrations by LSOA" and exc.rows_read == 3


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("seven", "'seven' is not a number of patients"),
        ("-3", "'-3' is not a whole number of patients (0 or more)"),
        ("2.5", "'2.5' is not a whole number of patients (0 or more)"),
        ("", "'' is not a number of patients"),
    ],
)
def test_bad_counts_are_rejected(tmp_path, unchanged, value, problem):
    text = "\n".join([REG_HEADER, reg_row(), reg_row(lsoa="E01000009", patients=value)])
    exc = rejected("registrations", write(tmp_path, "reg.csv", text))
    assert exc.errors == [f"reg.csv:3: NUMBER_OF_PATIENTS: {problem}"]


def test_duplicate_practice_lsoa_rows_are_rejected(tmp_path, unchanged):
    text = "\n".join([REG_HEADER, reg_row(), reg_row(lsoa="E01000002"), reg_row(patients="9")])
    exc = rejected("registrations", write(tmp_path, "reg.csv", text))
    assert exc.errors == [
        "reg.csv:4: LSOA_CODE: duplicate row for practice A81001 and LSOA 'E01000001' (first at line 2)"
    ]


def test_by_sex_rows_do_not_count_as_duplicates(tmp_path, db, baseline):
    text = "\n".join(
        [REG_HEADER, reg_row(), reg_row(sex="MALE", patients="3"), reg_row(sex="FEMALE", patients="4")]
    )
    summary = import_file("registrations", write(tmp_path, "reg.csv", text))
    assert summary["rows"] == 1 and summary["rows_skipped_by_sex"] == 2
    assert list(Registration.objects.values_list("patients", flat=True)) == [7]


def test_too_many_fields_names_the_line(tmp_path, unchanged):
    text = "\n".join([REG_HEADER, reg_row(), reg_row(lsoa="E01000002") + ",extra"])
    exc = rejected("registrations", write(tmp_path, "reg.csv", text))
    assert exc.errors == ["reg.csv:3: (row): 8 fields where the header has 7"]


def test_line_numbers_are_physical_lines_when_a_quoted_field_spans_lines(tmp_path, unchanged):
    text = "\n".join([REG_HEADER, reg_row(name='"TWO\nLINES"'), reg_row(lsoa="E01000002", patients="x")])
    exc = rejected("registrations", write(tmp_path, "reg.csv", text))
    assert exc.errors == ["reg.csv:4: NUMBER_OF_PATIENTS: 'x' is not a number of patients"]


def test_errors_are_capped_at_100_with_the_total_kept(tmp_path, unchanged):
    rows = [reg_row(lsoa=f"E01{i:06d}", patients="-1") for i in range(150)]
    exc = rejected("registrations", write(tmp_path, "reg.csv", "\n".join([REG_HEADER, *rows])))
    assert len(exc.errors) == 100 and exc.error_count == 150
    assert exc.errors[0].startswith("reg.csv:2: NUMBER_OF_PATIENTS:")


def test_several_extract_dates_are_rejected(tmp_path, unchanged):
    text = "\n".join([REG_HEADER, reg_row(), reg_row(lsoa="E01000002", date="01APR2021")])
    exc = rejected("registrations", write(tmp_path, "reg.csv", text))
    assert exc.errors == [
        "reg.csv: the file holds several extract dates (2021-01-04, 2021-04-01): import one extract at a time"
    ]


def test_bom_crlf_and_latin1_are_accepted(tmp_path, db, baseline):
    text = "\r\n".join(
        [REG_HEADER, reg_row(practice="Y99999", name="CAFÉ SURGERY"), reg_row(lsoa="E01000002")]
    )
    path = write(tmp_path, "reg.csv", b"\xef\xbb\xbf" + text.encode("latin-1"))
    summary = import_file("registrations", path)
    assert summary["rows"] == 2 and summary["practices_created"] == 1
    assert Practice.objects.get(code="Y99999").name == "CAFÉ SURGERY"
    assert summary["warnings"][1] == "practice Y99999 (CAFÉ SURGERY) created without a PCN"


def test_zip_with_no_candidate_file_is_rejected(tmp_path, unchanged):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.pdf", b"%PDF")
    exc = rejected("registrations", write(tmp_path, "gp.zip", buf.getvalue()))
    assert exc.errors == ["gp.zip: the zip holds no CSV or XLSX file to import"]


def test_zip_with_several_candidate_files_is_rejected(tmp_path, unchanged):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.csv", GOOD_REGISTRATIONS)
        zf.writestr("b.csv", GOOD_REGISTRATIONS)
    exc = rejected("registrations", write(tmp_path, "gp.zip", buf.getvalue()))
    assert exc.errors == ["gp.zip: the zip holds several candidate files (a.csv, b.csv); upload one of them"]


def test_published_zip_picks_the_all_sexes_file(tmp_path, db, baseline):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("gp-reg-pat-prac-lsoa-male-female.csv", "whatever")
        zf.writestr("gp-reg-pat-prac-lsoa-all.csv", GOOD_REGISTRATIONS.replace(",7", ",70"))
    summary = import_file("registrations", write(tmp_path, "gp-reg-pat-prac-lsoa.zip", buf.getvalue()))
    assert summary["patients"] == 86 and summary["replaced_rows"] == 4


def test_bad_row_inside_a_zip_names_the_member(tmp_path, unchanged):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("gp-reg-pat-prac-lsoa-all.csv", "\n".join([REG_HEADER, reg_row(patients="-2")]))
    exc = rejected("registrations", write(tmp_path, "q.zip", buf.getvalue()))
    assert exc.errors == [
        "q.zip/gp-reg-pat-prac-lsoa-all.csv:2: NUMBER_OF_PATIENTS: "
        "'-2' is not a whole number of patients (0 or more)"
    ]


def test_file_over_the_size_limit_is_rejected(tmp_path, unchanged, settings):
    settings.IMPORT_MAX_BYTES = 100
    path = write(tmp_path, "reg.csv", GOOD_REGISTRATIONS)
    exc = rejected("registrations", path)
    size = path.stat().st_size
    assert exc.errors == [
        f"reg.csv: the file is {size:,} bytes, over the limit of 100 bytes (IMPORT_MAX_BYTES)"
    ]


def test_zip_member_unpacking_over_the_size_limit_is_rejected(tmp_path, unchanged, settings):
    settings.IMPORT_MAX_BYTES = 300
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("gp-reg-pat-prac-lsoa-all.csv", GOOD_REGISTRATIONS * 3)
    exc = rejected("registrations", write(tmp_path, "q.zip", buf.getvalue()))
    assert "unpacked, over the limit of 300 bytes (IMPORT_MAX_BYTES)" in exc.errors[0]


IMD_HEADER = (
    "LSOA code (2011),LSOA name (2011),Local Authority District code (2019),"
    "Local Authority District name (2019),Index of Multiple Deprivation (IMD) Rank,"
    "Index of Multiple Deprivation (IMD) Decile"
)


DECILE = "Index of Multiple Deprivation (IMD) Decile"


def test_imd_deciles_outside_1_to_10_and_wrong_lsoa_count_are_rejected(tmp_path, unchanged):
    text = "\n".join(
        [
            IMD_HEADER,
            'E01000001,City of London 001A,E09000001,City of London,"29,199",9',
            "E01000002,City of London 001B,E09000001,City of London,30379,11",
            "E01000003,City of London 001C,E09000001,City of London,14915,0",
        ]
    )
    exc = rejected("imd", write(tmp_path, "imd.csv", text))
    assert exc.errors == [
        "imd.csv: 3 LSOAs where the IoD2019 edition (LSOA 2011) has 32,844: the file is incomplete "
        "or not the national file",
        f"imd.csv:3: {DECILE}: decile '11' is not a whole number from 1 to 10",
        f"imd.csv:4: {DECILE}: decile '0' is not a whole number from 1 to 10",
    ]
    assert exc.layout == "IoD2019 File 1"


def test_imd_bad_lsoa_code_and_duplicate_lsoa_are_rejected(tmp_path, unchanged):
    full = gzip.decompress(IOD2019_FILE_1.read_bytes()).decode("utf-8-sig").splitlines()
    full[5] = full[5].replace("E01000006", "W01000006")
    full[7] = full[6]
    exc = rejected("imd", write(tmp_path, "File_1.csv", "\n".join(full)))
    assert exc.errors == [
        "File_1.csv:6: LSOA code (2011): 'W01000006' is not an English LSOA code (E01 and 6 digits)",
        "File_1.csv:8: LSOA code (2011): LSOA E01000007 appears more than once",
    ]


def test_practice_map_bad_codes_are_rejected(tmp_path, unchanged):
    text = "\n".join([MAP_HEADER, map_row(pcn="X1234"), map_row(practice="A81002", icb="Q1"), map_row()])
    exc = rejected("practice_map", write(tmp_path, "map.csv", text))
    assert exc.errors == [
        "map.csv:2: PCN_CODE: 'X1234' is not a PCN code (U and 5 digits, or U for unallocated)",
        "map.csv:2: ICB_CODE: SUB_ICB_LOCATION_CODE 16C has more than one ICB (Q1, QHM)",
        "map.csv:3: ICB_CODE: 'Q1' is not an ICB code (Q and 2 characters)",
        "map.csv:4: PRACTICE_CODE: practice A81001 appears more than once",
    ]


def test_practice_map_sub_icb_with_two_icbs_is_rejected(tmp_path, unchanged):
    text = "\n".join([MAP_HEADER, map_row(), map_row(practice="A81002", icb="QHL")])
    exc = rejected("practice_map", write(tmp_path, "map.csv", text))
    assert exc.errors == ["map.csv:2: ICB_CODE: SUB_ICB_LOCATION_CODE 16C has more than one ICB (QHL, QHM)"]


def test_epcn_bad_date_and_end_before_start_are_rejected(tmp_path, unchanged):
    header = (
        "Partner Organisation Code,Partner Name,Practice Parent Sub ICB Loc Code,Practice Parent Sub ICB Loc "
        "Name,PCN Code,PCN Name,PCN Parent Sub ICB Loc Code,PCN Parent Sub ICB Loc Name,Practice to PCN "
        "Relationship Start Date,Practice to PCN Relationship End Date"
    )
    text = "\n".join(
        [
            header,
            "A81001,DENSHAM,16C,TEES,U89141,STOCKTON PCN,16C,TEES,20191301,",
            "A81002,QUEENS PARK,16C,TEES,U89141,STOCKTON PCN,16C,TEES,20200401,20200301",
        ]
    )
    exc = rejected("epcn", write(tmp_path, "epcn.csv", text))
    assert exc.errors == [
        "epcn.csv:2: Practice to PCN Relationship Start Date: '20191301' is not a date (YYYYMMDD)",
        "epcn.csv:3: Practice to PCN Relationship End Date: end date 20200301 is before the start date",
    ]


def test_lookup_bad_change_indicator_is_rejected(tmp_path, unchanged):
    text = (
        "LSOA11CD,LSOA11NM,LSOA21CD,LSOA21NM,CHGIND\nE01000001,A,E01000001,A,U\nE01000002,B,E01000002,B,Z\n"
    )
    exc = rejected("lsoa_lookup", write(tmp_path, "lookup.csv", text))
    assert exc.errors == ["lookup.csv:3: CHGIND: 'Z' is not a change indicator (U, S, M or X)"]


def test_a_failed_write_leaves_the_previous_snapshot(tmp_path, unchanged):
    """A database error in the middle of the write (here the CHECK on patients) rolls it all back."""
    parsed = IMPORTERS["registrations"].parse(
        write(tmp_path, "reg.csv", GOOD_REGISTRATIONS), source_name="reg.csv"
    )
    parsed.frame.loc[2, "patients"] = -5  # past validation, as a corrupted write would be
    with pytest.raises(IntegrityError):
        apply_parsed("registrations", parsed)


def test_xlsx_with_line_breaks_in_headers_is_read(tmp_path, db, baseline):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "PCN Core Partner Details"
    ws.append(
        [
            "Partner\nOrganisation Code",
            "Partner Name",
            "Practice Parent\nSub ICB Loc Code",
            "Practice Parent Sub ICB Loc Name",
            "PCN Code",
            "PCN Name",
            "PCN Parent Sub ICB Loc Code",
            "PCN Parent Sub ICB Loc Name",
            "Practice to PCN\nRelationship Start Date",
            "Practice to PCN Relationship End Date",
        ]
    )
    ws.append(["A81001", "DENSHAM", "16C", "TEES", "U89141", "STOCKTON PCN", "16C", "TEES", 20191001, None])
    ws.append(
        ["A81002", "QUEENS", "16C", "TEES", "U89142", "NORTH PCN", "16C", "TEES", "20191001", "20220331"]
    )
    ws.append(["A81002", "QUEENS", "16C", "TEES", "U89141", "STOCKTON PCN", "16C", "TEES", "20220401", None])
    path = tmp_path / "epcn.xlsx"
    wb.save(path)
    summary = import_file("epcn", path)
    assert summary["layout"] == "ePCN core partner details"
    assert summary["relationships"] == 3 and summary["pcns_created"] == 1
    current = PracticePCNMembership.objects.current().filter(practice__code="A81002").get()
    assert current.pcn.code == "U89141" and str(current.start_date) == "2022-04-01"


def test_xlsx_row_errors_name_the_sheet_and_row(tmp_path, unchanged):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "lookup"
    ws.append(["LSOA11CD", "LSOA21CD", "CHGIND"])
    ws.append(["E01000001", "E01000001", "U"])
    ws.append(["E01000002", "E0100002", "U"])
    path = tmp_path / "lookup.xlsx"
    wb.save(path)
    exc = rejected("lsoa_lookup", path)
    assert exc.errors == [
        "lookup.xlsx (sheet lookup):3: LSOA21CD: 'E0100002' is not an LSOA 2021 code (E01/W01 and 6 digits)"
    ]


def test_line_numbers_count_a_header_spanning_two_lines(tmp_path, unchanged):
    header = (
        '"Partner\nOrganisation Code",Partner Name,Practice Parent Sub ICB Loc Code,'
        "Practice Parent Sub ICB Loc Name,PCN Code,PCN Name,PCN Parent Sub ICB Loc Code,"
        "PCN Parent Sub ICB Loc Name,Practice to PCN Relationship Start Date,"
        "Practice to PCN Relationship End Date"
    )
    text = "\n".join(
        [
            header,
            'A81001,"DENSHAM\nSURGERY",16C,TEES,U89141,STOCKTON PCN,16C,TEES,20191001,',
            "A8100X,QUEENS PARK,16C,TEES,U89141,STOCKTON PCN,16C,TEES,20191001,",
        ]
    )
    exc = rejected("epcn", write(tmp_path, "epcn.csv", text))
    assert exc.errors == [
        "epcn.csv:5: Partner Organisation Code: 'A8100X' is not a practice ODS code (a letter and 5 digits)"
    ]


def test_progress_rises_to_100(tmp_path, db, baseline):
    seen = []
    import_file(
        "registrations", write(tmp_path, "reg.csv", GOOD_REGISTRATIONS), progress=lambda p, m: seen.append(p)
    )
    assert seen == sorted(seen) and seen[0] < 10 and seen[-1] == 100


def test_gzip_unpacking_over_the_size_limit_is_rejected(tmp_path, unchanged, settings):
    settings.IMPORT_MAX_BYTES = 300
    path = write(tmp_path, "reg.csv.gz", gzip.compress((GOOD_REGISTRATIONS * 3).encode()))
    assert path.stat().st_size < 300
    exc = rejected("registrations", path)
    assert exc.errors == [
        "reg.csv.gz: the file unpacks to more than 300 bytes, over the limit (IMPORT_MAX_BYTES)"
    ]


def test_published_xlsx_layout_is_found_on_its_sheet_after_a_notes_sheet(tmp_path, unchanged):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Notes"
    wb.active.append(["English Indices of Deprivation 2019"])
    ws = wb.create_sheet("IMD2019")
    ws.append(IMD_HEADER.split(","))
    ws.append(["E01000001", "City of London 001A", "E09000001", "City of London", 29199, 9])
    ws.append(["E01000002", "City of London 001B", "E09000001", "City of London", 30379, 12])
    path = tmp_path / "File_1.xlsx"
    wb.save(path)
    exc = rejected("imd", path)
    assert exc.layout == "IoD2019 File 1"
    assert exc.errors == [
        "File_1.xlsx (sheet IMD2019): 2 LSOAs where the IoD2019 edition (LSOA 2011) has 32,844: the file "
        "is incomplete or not the national file",
        f"File_1.xlsx (sheet IMD2019):3: {DECILE}: decile '12' is not a whole number from 1 to 10",
    ]
