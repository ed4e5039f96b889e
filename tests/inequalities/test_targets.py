"""Priority targets: Wilson intervals against published values, quarters, the CSV return's
validation (all or nothing, `file:line: column: problem`), and the pages."""

import csv
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inequalities import targets as tg
from inequalities.models import AuditEvent, PriorityTargetReturn
from tests.factories import practice_in

# Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score, no continuity
# correction): x/n -> (lower, upper), to 4 decimal places.
NEWCOMBE = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("x", "n", "lower", "upper"), NEWCOMBE)
def test_wilson_interval_matches_newcombes_published_values(x, n, lower, upper):
    lo, hi = tg._wilson(x, n)
    assert (round(lo, 4), round(hi, 4)) == (lower, upper)


def test_wilson_interval_edge_cases_zero_and_all():
    # 0 of 100 and 100 of 100: the interval touches 0 (or 1) exactly; the other end is z²/(n+z²).
    z2 = tg.Z95**2
    assert tg._wilson(0, 100) == (0.0, pytest.approx(z2 / (100 + z2)))
    assert round(tg._wilson(0, 100)[1] * 100, 2) == 3.70  # PHEindicatormethods: 0.0% (0.0-3.7)
    lo, hi = tg._wilson(100, 100)
    assert hi == 1.0 and round(lo * 100, 2) == 96.30
    assert tg._wilson(0, 0) == (None, None)
    with pytest.raises(ValueError):
        tg._wilson(5, 4)


@pytest.mark.parametrize(("x", "n"), [(0, 7), (1, 2), (42, 60), (59999, 60000), (300, 300)])
def test_local_wilson_agrees_with_the_shared_statistics_module(x, n):
    # inequalities may not import dashboards (dependencies point one way), so it keeps its own copy.
    from dashboards.statistics import wilson_interval

    shared = wilson_interval(x, n)
    assert tg._wilson(x, n) == (
        pytest.approx(shared.lower, abs=1e-12),
        pytest.approx(shared.upper, abs=1e-12),
    )


def test_quarters_follow_the_nhs_financial_year():
    assert tg.quarter_start("2025/26 Q1") == datetime.date(2025, 4, 1)
    assert tg.quarter_start("2025-26 q4") == datetime.date(2026, 1, 1)
    assert tg.quarter_label(datetime.date(2026, 1, 1)) == "2025/26 Q4"
    assert tg.quarter_containing(datetime.date(2026, 3, 31)) == datetime.date(2026, 1, 1)
    assert [label for _, label in tg.recent_quarters(datetime.date(2026, 5, 3), 3)] == [
        "2026/27 Q1",
        "2025/26 Q4",
        "2025/26 Q3",
    ]
    for bad in ["2025/27 Q1", "2025 Q1", "2025/26 Q5", ""]:
        with pytest.raises(ValueError):
            tg.quarter_start(bad)


# --- CSV returns ---------------------------------------------------------------------------------------------

HEADER = ",".join(c for c, _, _ in tg.CSV_COLUMNS)


class P:
    def __init__(self, code):
        self.code = code


def parse(text, codes=("A81001", "A81002")):
    return tg.parse_returns_csv(
        text.encode("utf-8"), filename="q1.csv", practices_by_code={c: P(c) for c in codes}
    )


def test_a_valid_csv_with_bom_and_odd_header_case_is_read():
    header = "\ufeff" + HEADER.upper().replace("PRACTICE_CODE", " Practice Code ")
    rows, errors = parse(f'{header}\nA81001,2025/26 Q1,40,31,80,50,"9,000",9500,3\n\n')
    assert errors == []
    assert rows[0]["quarter_start"] == datetime.date(2025, 4, 1)
    assert (rows[0]["ld_health_checks"], rows[0]["ethnicity_recorded"], rows[0]["scd_register"]) == (
        31,
        9000,
        3,
    )


def test_csv_problems_are_reported_as_file_line_column_and_nothing_is_returned():
    text = "\n".join(
        [
            HEADER,
            "A81001,2025/26 Q1,40,31,80,50,9000,9500,3",  # fine
            "B99999,2025/26 Q1,40,31,80,50,9000,9500,3",  # not a practice of this PCN
            "A81002,2025/26 Q7,40,41,80,50,9000,9500,-1",  # bad quarter; 41 > 40; negative
            "A81001,2025/26 Q1,40,31,80,50,9000,9500,3",  # duplicate of line 2
            "A81002,2025/26 Q1,40,31",  # short row
        ]
    )
    rows, errors = parse(text)
    assert rows == []
    assert errors == [
        "q1.csv:3: practice_code: B99999 is not a current practice of this PCN",
        "q1.csv:4: quarter: '2025/26 Q7': expected a financial quarter like 2025/26 Q1",
        "q1.csv:4: sickle_cell_register: '-1' is not a whole number of 0 or more",
        "q1.csv:4: ld_health_checks_with_action_plan: 41 is more than ld_register_14_plus (40)",
        "q1.csv:5: practice_code: A81001 already has a row for 2025/26 Q1 (line 2)",
        "q1.csv:6: (row): 4 values for 9 columns",
    ]


def test_csv_with_missing_or_unexpected_columns_is_rejected_at_the_header():
    rows, errors = parse("practice_code,quarter,smi_register,shoe_size\nA81001,2025/26 Q1,3,9\n")
    assert rows == []
    assert "q1.csv:1: ld_register_14_plus: column missing" in errors
    assert "q1.csv:1: shoe_size: unexpected column" in errors


def test_template_round_trips_through_the_parser():
    text = tg.template_csv([P("A81001"), P("A81002")], "2025/26 Q2")
    filled = text.replace("A81001,2025/26 Q2,,,,,,,", "A81001,2025/26 Q2,1,1,1,1,1,1,0")
    rows, errors = parse(filled.replace("A81002,2025/26 Q2,,,,,,,", "A81002,2025/26 Q2,2,1,2,1,5,9,0"))
    assert errors == [] and len(rows) == 2


# --- Pages -----------------------------------------------------------------------------------------------------


@pytest.fixture
def practices(world):
    first = world.pcn.current_practices().get()
    second = practice_in(world.pcn, name="SECOND SURGERY")
    return first, second


def _upload(client, world, text, name="returns.csv"):
    return client.post(
        reverse("priority_targets_upload", args=[world.pcn.code]),
        {"file": SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")},
    )


def _rows(first, second, quarter="2025/26 Q1", ld=(40, 30)):
    return "\n".join(
        [
            HEADER,
            f"{first.code},{quarter},{ld[0]},{ld[1]},80,48,9000,9500,3",
            f"{second.code},{quarter},20,12,10,7,4000,4000,0",
        ]
    )


def test_upload_writes_all_returns_and_shows_them_against_thresholds(client, world, practices):
    first, second = practices
    client.force_login(world.users["hi_lead"])
    response = _upload(client, world, _rows(first, second))
    assert response.status_code == 302
    assert PriorityTargetReturn.objects.count() == 2
    assert AuditEvent.objects.get(action="priority_targets.recorded").after["source"] == "upload: returns.csv"
    page = client.get(reverse("priority_targets_pcn", args=[world.pcn.code]))
    cells = {c["target"].key: c for c in page.context["pcn_cells"]}
    assert (cells["ld"]["p"].numerator, cells["ld"]["p"].denominator) == (42, 60)
    assert cells["ld"]["value"] == 70.0 and not cells["ld"]["p"].meets  # below 75%
    lo, hi = tg._wilson(42, 60)
    assert (cells["ld"]["lower"], cells["ld"]["upper"]) == (round(100 * lo, 1), round(100 * hi, 1))
    assert cells["smi"]["p"].meets  # 55 of 90 = 61.1% >= 60%
    assert cells["ethnicity"]["value"] == pytest.approx(100 * 13000 / 13500, abs=0.05)
    rows = list(
        csv.DictReader(io.StringIO(client.get(page.request["PATH_INFO"] + "?format=csv").content.decode()))
    )
    assert {r["practice_code"]: r["ld_status"] for r in rows} == {
        first.code: "Meets",
        second.code: "Below",
    }  # 30/40 = 75%, 12/20 = 60%


def test_upload_with_an_error_writes_nothing_and_lists_the_problems(client, world, practices):
    first, second = practices
    client.force_login(world.users["hi_lead"])
    bad = (
        _rows(first, second) + f"\n{world.other_pcn.current_practices().get().code},2025/26 Q1,1,1,1,1,1,1,0"
    )
    response = _upload(client, world, bad, name="bad.csv")
    assert response.status_code == 400
    assert PriorityTargetReturn.objects.count() == 0
    assert "bad.csv:4: practice_code:" in response.content.decode()
    assert "nothing was saved" in response.content.decode()


def test_same_upload_twice_changes_nothing_and_a_new_value_replaces(client, world, practices):
    first, second = practices
    client.force_login(world.users["hi_lead"])
    _upload(client, world, _rows(first, second))
    _upload(client, world, _rows(first, second))
    assert AuditEvent.objects.filter(action="priority_targets.recorded").count() == 1
    _upload(client, world, _rows(first, second, ld=(40, 35)))
    assert PriorityTargetReturn.objects.get(practice=first).ld_health_checks == 35
    assert PriorityTargetReturn.objects.count() == 2
    event = AuditEvent.objects.filter(action="priority_targets.recorded").latest("pk")
    assert event.after["returns"][0]["before"]["ld_health_checks"] == 30


def test_form_entry_checks_numerators_and_saves(client, world, practices):
    first, _ = practices
    client.force_login(world.users["clinical_director"])
    url = reverse("priority_targets_enter", args=[world.pcn.code])
    quarter = tg.recent_quarters(datetime.date.today(), 2)[1][1]
    payload = {
        "practice": first.code,
        "quarter": quarter,
        "ld_register_14_plus": 10,
        "ld_health_checks": 11,
        "smi_register": 5,
        "smi_health_checks": 5,
        "ethnicity_recorded": 100,
        "list_size": 100,
        "scd_register": 1,
    }
    response = client.post(url, payload)
    assert response.status_code == 200 and "cannot be more than" in response.content.decode()
    assert not PriorityTargetReturn.objects.exists()
    assert client.post(url, {**payload, "ld_health_checks": 9}).status_code == 302
    saved = PriorityTargetReturn.objects.get()
    assert saved.source == "form" and tg.quarter_label(saved.quarter_start) == quarter


def test_trend_by_quarter_and_the_icbs_pcns_side_by_side(client, world, practices):
    first, second = practices
    client.force_login(world.users["hi_lead"])
    _upload(client, world, _rows(first, second, quarter="2025/26 Q1", ld=(40, 20)))
    _upload(client, world, _rows(first, second, quarter="2025/26 Q2", ld=(40, 38)))
    page = client.get(reverse("priority_targets_pcn", args=[world.pcn.code]))
    assert page.context["quarter"] == "2025/26 Q2"
    assert [(t["quarter"], t["cells"][0]["p"].numerator) for t in page.context["trend"]] == [
        ("2025/26 Q1", 32),
        ("2025/26 Q2", 50),
    ]
    client.force_login(world.users["icb_analyst"])
    icb = client.get(reverse("priority_targets_icb", args=[world.icb.code]) + "?quarter=2025/26 Q1")
    by_pcn = {r["pcn"].code: r for r in icb.context["rows"]}
    assert set(by_pcn) == {world.pcn.code, world.sibling_pcn.code}  # not the other ICB's PCN
    assert by_pcn[world.pcn.code]["cells"][0]["p"].numerator == 32
    assert by_pcn[world.sibling_pcn.code]["cells"] is None


def test_template_download_lists_the_pcns_practices(client, world, practices):
    client.force_login(world.users["hi_lead"])
    response = client.get(reverse("priority_targets_template", args=[world.pcn.code]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {r["practice_code"] for r in rows} == {p.code for p in practices}
    assert list(rows[0]) == [c for c, _, _ in tg.CSV_COLUMNS]
