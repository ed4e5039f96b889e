"""Outcome measurements: the CSV layout and its validation (`file:line: column: problem`, nothing
written on error), periods and gaps, recording and correcting values with the audit trail."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inequalities.models import AuditEvent
from interventions import actions, workflow
from interventions.measurement_io import (
    PeriodError,
    UploadError,
    format_period,
    parse_period,
    parse_upload,
    with_gaps,
)
from interventions.models import InterventionPlan, Measurement
from tests.factories.interventions import MeasureFactory, complete_plan

D = datetime.date


def _errors(text, *, proportion=True, frequency="monthly", name="bp.csv"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    with pytest.raises(UploadError) as info:
        parse_upload(data, filename=name, is_proportion=proportion, frequency=frequency)
    return info.value.errors


# --- Periods -------------------------------------------------------------------------------------


def test_periods_parse_for_each_frequency():
    assert parse_period("2025-04", "monthly") == D(2025, 4, 1)
    assert parse_period(" 2025-4-01 ", "monthly") == D(2025, 4, 1)
    assert parse_period("2025-07", "quarterly") == D(2025, 7, 1)
    assert parse_period("2025-04-07", "weekly") == D(2025, 4, 7)  # a Monday


@pytest.mark.parametrize(
    ("text", "frequency", "problem"),
    [
        ("", "monthly", "is empty"),
        ("April 2025", "monthly", "is not a period; use YYYY-MM"),
        ("2025-13", "monthly", "is not a real date"),
        ("2025-04-15", "monthly", "is not the first day of a month"),
        ("2025-05", "quarterly", "does not start a quarter"),
        ("2025-04", "weekly", "needs a day"),
        ("2025-04-08", "weekly", "is a Tuesday"),
    ],
)
def test_bad_periods_say_why(text, frequency, problem):
    with pytest.raises(PeriodError, match=problem):
        parse_period(text, frequency)


def test_with_gaps_inserts_missing_periods_in_order():
    series = [(D(2025, 3, 1), 5.0), (D(2025, 1, 1), 4.0)]
    assert with_gaps(series, "monthly") == [(D(2025, 1, 1), 4.0), (D(2025, 2, 1), None), (D(2025, 3, 1), 5.0)]
    assert with_gaps([(D(2025, 1, 1), 1.0), (D(2025, 7, 1), 2.0)], "quarterly") == [
        (D(2025, 1, 1), 1.0),
        (D(2025, 4, 1), None),
        (D(2025, 7, 1), 2.0),
    ]
    assert with_gaps([], "weekly") == []
    assert format_period(D(2025, 4, 1), "quarterly") == "Apr – Jun 2025"


# --- The upload layout ------------------------------------------------------------------------------


def test_upload_accepts_bom_crlf_and_header_spelling():
    data = "\ufeffPeriod , NUMERATOR,Denominator\r\n2025-01,10,40\r\n\r\n2025-02,12,41\r\n".encode()
    rows = parse_upload(data, filename="bp.csv", is_proportion=True, frequency="monthly")
    assert [(r.line, r.period, r.numerator, r.denominator) for r in rows] == [
        (2, D(2025, 1, 1), 10, 40),
        (4, D(2025, 2, 1), 12, 41),
    ]


def test_upload_of_single_values_accepts_decimals_and_latin1():
    data = b'period,value\n2025-01,3.25\n2025-02,"1,204.5"\n'
    rows = parse_upload(data, filename="waits.csv", is_proportion=False, frequency="monthly")
    assert [r.value for r in rows] == [Decimal("3.25"), Decimal("1204.5")]
    latin = "period,value\n2025-01,7\n".encode("latin-1") + b"\xa0"
    assert parse_upload(latin, filename="w.csv", is_proportion=False, frequency="monthly")[0].value == 7


def test_upload_file_level_problems():
    assert _errors("") == ["bp.csv: the file is empty"]
    assert _errors("period,numerator,denominator\n") == ["bp.csv: the file has a header but no rows"]
    assert _errors("period,numerator\n2025-01,1\n") == ["bp.csv:1: denominator: the column is missing"]
    assert _errors("period,numerator,numerator,denominator\n") == [
        "bp.csv:1: numerator: the column appears more than once"
    ]
    assert _errors("period,numerator,denominator,notes\n2025-01,1,2,x\n") == [
        "bp.csv:1: notes: unexpected column; expected period, numerator, denominator"
    ]
    assert _errors("period,value\n2025-01,1\n") == [
        "bp.csv:1: numerator: the column is missing",
        "bp.csv:1: denominator: the column is missing",
        "bp.csv:1: value: not used by this measure (it is not a single value); expected period, numerator, denominator",
    ]


def test_upload_row_problems_name_file_line_and_column():
    text = "\n".join(
        [
            "period,numerator,denominator",
            "2025-01,10,40",  # 2 fine
            "2025-01,11,40",  # 3 duplicate period
            "2025-02-15,1,2",  # 4 not first of the month
            "2025-03,41,40",  # 5 numerator > denominator
            "2025-04,1,0",  # 6 zero denominator
            "2025-05,-1,40",  # 7 negative
            "2025-06,1.5,40",  # 8 not whole
            "2025-07,,40",  # 9 empty
            "2025-08,1",  # 10 short row
        ]
    )
    assert _errors(text) == [
        "bp.csv:3: period: 2025-01-01 is also on line 2",
        "bp.csv:4: period: “2025-02-15” is not the first day of a month",
        "bp.csv:5: numerator: 41 is more than the denominator 40",
        "bp.csv:6: denominator: must be more than 0",
        "bp.csv:7: numerator: “-1” is not a whole number of 0 or more",
        "bp.csv:8: numerator: “1.5” is not a whole number of 0 or more",
        "bp.csv:9: numerator: is empty",
        "bp.csv:10: has 2 cells, the header has 3",
    ]


def test_upload_single_value_problems():
    assert _errors("period,value\n2025-01,abc\n2025-02,NaN\n2025-03,1e20\n", proportion=False) == [
        "bp.csv:2: value: “abc” is not a number",
        "bp.csv:3: value: “NaN” is not a number",
        "bp.csv:4: value: is too large",
    ]


def test_upload_weekly_periods_must_be_mondays():
    assert _errors("period,value\n2025-04-08,3\n", proportion=False, frequency="weekly") == [
        "bp.csv:2: period: “2025-04-08” is a Tuesday; weekly periods start on a Monday"
    ]


# --- Recording, on the database ----------------------------------------------------------------------


@pytest.fixture
def measure(world):
    plan = complete_plan(world.pcn)
    InterventionPlan.objects.filter(pk=plan.pk).update(status=workflow.Status.ACTIVE)
    return plan.measures.get()


def test_recording_and_correcting_a_value_is_audited(world, measure):
    lead = world.users["hi_lead"]
    m, created, changed = actions.record_measurement(
        measure=measure, period=D(2025, 4, 1), numerator=30, denominator=50, by=lead
    )
    assert created and changed and m.observed == 60.0
    first = AuditEvent.objects.get(action="measurement.recorded")
    assert first.before is None
    assert first.after == {"period": "2025-04-01", "numerator": 30, "denominator": 50, "value": ""}
    assert first.pcn_code == world.pcn.code

    _, created, changed = actions.record_measurement(
        measure=measure,
        period=D(2025, 4, 1),
        numerator=31,
        denominator=50,
        by=world.users["clinical_director"],
    )
    assert not created and changed
    update = AuditEvent.objects.get(action="measurement.updated")
    assert (update.before["numerator"], update.after["numerator"]) == (30, 31)
    assert update.actor == world.users["clinical_director"]
    m.refresh_from_db()
    assert m.entered_by == world.users["clinical_director"]

    # The same values again change nothing and add no audit event.
    _, _, changed = actions.record_measurement(
        measure=measure, period=D(2025, 4, 1), numerator=31, denominator=50, by=lead
    )
    assert not changed and AuditEvent.objects.filter(action__startswith="measurement.").count() == 2


def test_values_are_checked_before_writing(world, measure):
    with pytest.raises(ValidationError):
        actions.record_measurement(
            measure=measure, period=D(2025, 4, 1), numerator=60, denominator=50, by=world.users["hi_lead"]
        )
    with pytest.raises(ValidationError):
        actions.record_measurement(
            measure=measure, period=D(2025, 4, 1), value=Decimal(3), by=world.users["hi_lead"]
        )
    assert not Measurement.objects.exists()


def test_only_pcn_leads_record_and_only_once_approved(world, measure):
    for role in ("pcn_member", "icb_analyst", "commissioner", "no_role"):
        with pytest.raises(PermissionError):
            actions.record_measurement(
                measure=measure, period=D(2025, 4, 1), numerator=1, denominator=2, by=world.users[role]
            )
    draft = MeasureFactory(plan=complete_plan(world.pcn))
    with pytest.raises(workflow.WorkflowError, match="once the plan is approved"):
        actions.record_measurement(
            measure=draft, period=D(2025, 4, 1), numerator=1, denominator=2, by=world.users["hi_lead"]
        )
    assert not Measurement.objects.exists()


def _upload(client, measure, text, name="values.csv"):
    return client.post(
        reverse("interventions:measurement_upload", args=[measure.pk]),
        {"file": SimpleUploadedFile(name, text.encode(), content_type="text/csv")},
    )


def test_upload_with_one_bad_row_writes_nothing_and_lists_the_problem(client, world, measure):
    actions.record_measurement(
        measure=measure, period=D(2025, 1, 1), numerator=5, denominator=10, by=world.users["hi_lead"]
    )
    client.force_login(world.users["hi_lead"])
    events = AuditEvent.objects.count()
    response = _upload(client, measure, "period,numerator,denominator\n2025-01,6,10\n2025-02,11,10\n")
    assert response.status_code == 200
    html = response.content.decode()
    assert "values.csv:3: numerator: 11 is more than the denominator 10" in html
    assert "Nothing has been changed" in html
    assert list(Measurement.objects.values_list("numerator", flat=True)) == [5]
    assert AuditEvent.objects.count() == events


def test_upload_adds_corrects_and_audits_in_one_event(client, world, measure):
    actions.record_measurement(
        measure=measure, period=D(2025, 1, 1), numerator=5, denominator=10, by=world.users["hi_lead"]
    )
    actions.record_measurement(
        measure=measure, period=D(2025, 2, 1), numerator=6, denominator=10, by=world.users["hi_lead"]
    )
    client.force_login(world.users["clinical_director"])
    response = _upload(
        client, measure, "period,numerator,denominator\n2025-01,5,10\n2025-02,7,10\n2025-03,8,10\n"
    )
    assert response.status_code == 302
    assert dict(Measurement.objects.values_list("period", "numerator")) == {
        D(2025, 1, 1): 5,
        D(2025, 2, 1): 7,
        D(2025, 3, 1): 8,
    }
    event = AuditEvent.objects.get(action="measurement.uploaded")
    assert event.actor == world.users["clinical_director"]
    assert event.after["added"] == 1 and event.after["updated"] == 1 and event.after["unchanged"] == 1
    assert event.before == {
        "2025-02-01": {"period": "2025-02-01", "numerator": 6, "denominator": 10, "value": ""}
    }
    assert set(event.after["values"]) == {"2025-02-01", "2025-03-01"}
    follow = client.get(response["Location"]).content.decode()
    assert "1 added, 1 corrected, 1 unchanged" in follow


def test_measurement_form_records_a_value_and_shows_field_errors(client, world, measure):
    client.force_login(world.users["hi_lead"])
    url = reverse("interventions:measurement_record", args=[measure.pk])
    bad = client.post(url, {"period": "2025-04-15", "numerator": "5", "denominator": "4"})
    html = bad.content.decode()
    assert bad.status_code == 200 and "There is a problem" in html
    assert "is not the first day of a month" in html
    ok = client.post(url, {"period": "2025-04", "numerator": "5", "denominator": "8"})
    assert ok.status_code == 302
    assert Measurement.objects.get().observed == 62.5
    # The correction link pre-fills the form with the recorded values.
    prefilled = client.get(url + "?period=2025-04-01").content.decode()
    assert 'value="2025-04"' in prefilled and 'value="8"' in prefilled
    assert client.get(url + "?period=2025-13-01").status_code == 200  # a bad date is ignored


def test_measure_csv_lists_exactly_the_recorded_values(client, world, measure):
    lead = world.users["hi_lead"]
    for month, n in [(1, 5), (2, 6)]:
        actions.record_measurement(
            measure=measure, period=D(2025, month, 1), numerator=n, denominator=10, by=lead
        )
    client.force_login(world.users["icb_analyst"])
    response = client.get(reverse("interventions:measure_detail", args=[measure.pk]) + "?format=csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["period"], r["numerator"], r["denominator"], r["observed"]) for r in rows] == [
        ("2025-01", "5", "10", "50.0"),
        ("2025-02", "6", "10", "60.0"),
    ]
    assert rows[0]["pcn_code"] == world.pcn.code and rows[0]["entered_by"] == lead.email
    plan_csv = client.get(reverse("interventions:plan_measures_csv", args=[measure.plan_id])).content.decode()
    assert len(list(csv.DictReader(io.StringIO(plan_csv)))) == 2


def test_rebasing_is_audited_and_checked(client, world, measure):
    client.force_login(world.users["hi_lead"])
    url = reverse("interventions:measure_rebase", args=[measure.pk])
    client.post(url, {"rebase_at": "2025-06"})
    measure.refresh_from_db()
    assert measure.rebase_at == D(2025, 6, 1)
    assert AuditEvent.objects.get(action="measure.rebased").after == {"rebase_at": "2025-06-01"}
    client.post(url, {"rebase_at": "June"})
    measure.refresh_from_db()
    assert measure.rebase_at == D(2025, 6, 1)
