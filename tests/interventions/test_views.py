"""Plan pages through the Django test client: drafting step by step, submission, the decision
page with its comparison and the stale-decision case, the queue, comparison across PCNs, the
printable plan, CSV exports and query counts."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from inequalities.models import AuditEvent, Membership, Role
from interventions import actions
from interventions.models import InterventionPlan, PlanDecision
from interventions.workflow import Status
from tests.factories import PCNFactory, UserFactory
from tests.factories.interventions import ClinicalAreaFactory, TargetPopulationFactory, complete_plan


def _detail(plan):
    return reverse("interventions:plan_detail", args=[plan.pk])


def _step(plan, step):
    return reverse("interventions:plan_step", args=[plan.pk, step])


def _submitted(world, **kwargs):
    plan = complete_plan(world.pcn, **kwargs)
    actions.submit(plan=plan, expected_version=plan.version, by=world.users["hi_lead"])
    plan.refresh_from_db()
    return plan


def test_lead_starts_a_plan_from_a_target_population(client, world):
    tp = TargetPopulationFactory(pcn=world.pcn, name="Core20 adults 40+")
    TargetPopulationFactory(pcn=world.sibling_pcn, name="Not ours")
    client.force_login(world.users["hi_lead"])
    page = client.get(reverse("interventions:plan_create", args=[world.pcn.code])).content.decode()
    assert "Core20 adults 40+" in page and "Not ours" not in page
    response = client.post(
        reverse("interventions:plan_create", args=[world.pcn.code]),
        {"title": "BP checks", "target_population": tp.pk},
    )
    plan = InterventionPlan.objects.get()
    assert response["Location"] == _detail(plan)
    assert (plan.pcn, plan.clinical_area, plan.status) == (world.pcn, tp.clinical_area, Status.DRAFT)
    assert AuditEvent.objects.filter(action="plan.created").count() == 1
    html = client.get(_detail(plan)).content.decode()
    assert 'class="nhsuk-task-list"' in html and "Incomplete" in html
    assert "Submit for approval" in html


def test_another_pcns_population_cannot_be_chosen(client, world):
    theirs = TargetPopulationFactory(pcn=world.sibling_pcn)
    client.force_login(world.users["hi_lead"])
    response = client.post(
        reverse("interventions:plan_create", args=[world.pcn.code]),
        {"title": "Sneaky", "target_population": theirs.pk},
    )
    assert response.status_code == 200 and "There is a problem" in response.content.decode()
    assert not InterventionPlan.objects.exists()


def test_each_step_saves_as_it_goes_and_is_audited(client, world):
    plan = complete_plan(world.pcn)
    client.force_login(world.users["pcn_member"])
    form = client.get(_step(plan, "intervention")).content.decode()
    assert 'name="expected_version"' in form and 'value="2025-04-01"' in form
    response = client.post(
        _step(plan, "intervention"),
        {
            "expected_version": plan.version,
            "intervention_what": "Saturday BP clinics",
            "intervention_by_whom": "Care coordinators",
            "arrs_roles": ["Care coordinator", "Health and wellbeing coach"],
            "start_date": "2025-05-01",
            "end_date": "2026-04-30",
            "risks": "Staffing",
            "equity_could_widen": "no",
            "equity_impact": "Checked with the community group",
        },
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.intervention_what == "Saturday BP clinics"
    assert plan.arrs_roles == ["Care coordinator", "Health and wellbeing coach"]
    assert plan.start_date == datetime.date(2025, 5, 1)
    event = AuditEvent.objects.get(action="plan.edited")
    assert event.before["start_date"] == "2025-04-01" and event.after["start_date"] == "2025-05-01"
    assert "risks" in event.after and "partners" not in event.after  # only what changed


def test_a_step_saved_from_a_stale_page_is_refused_and_kept_on_screen(client, world):
    plan = complete_plan(world.pcn)
    stale = plan.version
    actions.update_plan(
        plan=plan, changes={"outcome": "Theirs"}, expected_version=stale, by=world.users["hi_lead"]
    )
    client.force_login(world.users["clinical_director"])
    response = client.post(
        _step(plan, "outcomes"),
        {"expected_version": stale, "outcome": "Mine", "qi_approach": "PDSA monthly", "pdsa_cycles": "3"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "The plan has changed since you opened it" in html
    assert "Mine" in html  # what they typed is still on the page
    plan.refresh_from_db()
    assert plan.outcome == "Theirs"


def test_step_with_missing_answers_shows_the_error_summary(client, world):
    plan = complete_plan(world.pcn)
    client.force_login(world.users["hi_lead"])
    response = client.post(
        _step(plan, "evidence"), {"expected_version": plan.version, "evidence_profile": ""}
    )
    html = response.content.decode()
    assert "There is a problem" in html and 'href="#id_evidence_profile"' in html
    assert 'href="#id_inequality_types_0"' in html


def test_engagement_records_and_measures_are_added_on_their_steps(client, world):
    plan = actions.create_plan(pcn=world.pcn, title="New", by=world.users["hi_lead"])
    client.force_login(world.users["hi_lead"])
    client.post(
        _step(plan, "engagement"),
        {
            "form": "record",
            "expected_version": plan.version,
            "who": "Carers' group",
            "method": "Coffee morning",
            "held_on": "2025-02-03",
            "heard": "Evening slots",
            "changed_plan": "Added evening slots",
        },
    )
    plan.refresh_from_db()
    assert plan.engagement.get().who == "Carers' group"
    response = client.post(
        reverse("interventions:measure_add", args=[plan.pk]),
        {
            "expected_version": plan.version,
            "name": "Average wait",
            "kind": "value",
            "unit": "days",
            "direction": "lower",
            "baseline_value": "21",
            "baseline_period": "2024",
            "target_value": "14",
            "target_date": "2026-03-31",
            "frequency": "monthly",
            "data_source": "Appointments",
        },
    )
    assert response.status_code == 302
    measure = plan.measures.get()
    assert (measure.unit, measure.direction, measure.display_unit) == ("days", "lower", "days")
    assert {"plan.engagement_added", "plan.measure_added"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )


def test_a_percentage_measure_needs_its_definitions(client, world):
    plan = complete_plan(world.pcn)
    client.force_login(world.users["hi_lead"])
    response = client.post(
        reverse("interventions:measure_add", args=[plan.pk]),
        {"expected_version": plan.version, "name": "Share", "kind": "proportion", "direction": "higher",
         "baseline_value": "120", "baseline_period": "2024", "target_value": "50", "target_date": "2026-03-31",
         "frequency": "monthly", "data_source": "x"},
    )  # fmt: skip
    html = response.content.decode()
    assert "Enter the definition" in html and "A percentage is between 0 and 100" in html


def test_submit_from_the_page_freezes_a_version(client, world, django_capture_on_commit_callbacks):
    plan = complete_plan(world.pcn)
    client.force_login(world.users["hi_lead"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("interventions:plan_submit", args=[plan.pk]),
            {"expected_version": plan.version},
            follow=True,
        )
    assert "Version 1 has been submitted" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == Status.SUBMITTED and plan.versions.count() == 1
    # Once submitted the steps are no longer editable.
    assert client.get(_step(plan, "evidence"))["Location"] == _detail(plan)


def test_submitting_an_incomplete_plan_says_what_is_missing(client, world):
    plan = actions.create_plan(pcn=world.pcn, title="Empty", by=world.users["hi_lead"])
    client.force_login(world.users["hi_lead"])
    html = client.post(
        reverse("interventions:plan_submit", args=[plan.pk]), {"expected_version": plan.version}, follow=True
    ).content.decode()
    assert "The plan is not complete" in html and "At least one measure" in html


def test_decision_page_shows_the_version_and_what_changed_since_the_last_decision(client, world):
    plan = _submitted(world)
    commissioner = world.users["commissioner"]
    client.force_login(commissioner)
    first = client.get(reverse("interventions:plan_decide", args=[plan.pk])).content.decode()
    assert "first version to be decided on" in first and "Venue availability" in first
    client.post(
        reverse("interventions:plan_decide", args=[plan.pk]),
        {
            "expected_version": plan.version,
            "decision": "request_changes",
            "comment": "Reach men of working age",
        },
    )
    plan.refresh_from_db()
    assert plan.status == Status.CHANGES_REQUESTED
    lead = world.users["hi_lead"]
    plan = actions.update_plan(
        plan=plan, changes={"risks": "Low uptake by men"}, expected_version=plan.version, by=lead
    )
    actions.submit(plan=plan, expected_version=plan.version, by=lead)
    html = client.get(reverse("interventions:plan_decide", args=[plan.pk])).content.decode()
    assert "What changed since version 1, the version last decided on (1 change)" in html
    assert "<del" in html and "Venue availability" in html and "Low uptake by men" in html
    assert "Reach men of working age" in html  # the last decision's comment


def test_request_changes_without_a_comment_is_refused(client, world):
    plan = _submitted(world)
    client.force_login(world.users["commissioner"])
    response = client.post(
        reverse("interventions:plan_decide", args=[plan.pk]),
        {"expected_version": plan.version, "decision": "reject", "comment": ""},
    )
    assert "Enter a comment saying why" in response.content.decode()
    assert not PlanDecision.objects.exists()


def test_the_second_of_two_commissioners_is_told_the_plan_changed_and_keeps_their_comment(client, world):
    plan = _submitted(world)
    rendered_with = plan.version
    second = UserFactory(username="second@example.nhs.uk")
    Membership.objects.create(user=second, role=Role.COMMISSIONER, icb=world.icb)
    actions.decide(
        plan=plan, decision="approve", expected_version=rendered_with, by=world.users["commissioner"]
    )
    client.force_login(second)
    response = client.post(
        reverse("interventions:plan_decide", args=[plan.pk]),
        {"expected_version": rendered_with, "decision": "reject", "comment": "My long considered reasons"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "The plan has changed" in html and "approved" in html
    assert "My long considered reasons" in html
    assert list(PlanDecision.objects.values_list("decision", flat=True)) == ["approve"]


def test_the_submitter_sees_no_decision_form(client, world):
    both = world.users["hi_lead"]
    Membership.objects.create(user=both, role=Role.COMMISSIONER, icb=world.icb)
    plan = _submitted(world)
    client.force_login(both)
    html = client.get(reverse("interventions:plan_decide", args=[plan.pk])).content.decode()
    assert "You submitted this version" in html and "Record the decision" not in html


def test_start_complete_and_withdraw_pages(client, world):
    plan = _submitted(world)
    actions.decide(
        plan=plan, decision="approve", expected_version=plan.version, by=world.users["commissioner"]
    )
    plan.refresh_from_db()
    client.force_login(world.users["clinical_director"])
    client.post(
        reverse("interventions:plan_transition", args=[plan.pk, "start"]), {"expected_version": plan.version}
    )
    plan.refresh_from_db()
    assert plan.status == Status.ACTIVE
    url = reverse("interventions:plan_transition", args=[plan.pk, "complete"])
    missing = client.post(url, {"expected_version": plan.version, "text": ""}).content.decode()
    assert "Enter a closing summary" in missing
    client.post(url, {"expected_version": plan.version, "text": "Uptake doubled."})
    plan.refresh_from_db()
    assert (plan.status, plan.closing_summary) == (Status.COMPLETED, "Uptake doubled.")
    assert client.get(reverse("interventions:plan_transition", args=[plan.pk, "submit"])).status_code == 404


def test_queue_lists_plans_awaiting_decision_in_my_icb_oldest_first(client, world):
    newer = _submitted(world, title="Newer")
    older = _submitted(world, title="Older")
    InterventionPlan.objects.filter(pk=older.pk).update(
        submitted_at=newer.submitted_at - datetime.timedelta(days=9)
    )
    complete_plan(world.pcn, title="Still a draft")
    elsewhere = complete_plan(world.other_pcn, title="Other ICB")
    InterventionPlan.objects.filter(pk=elsewhere.pk).update(status=Status.SUBMITTED)
    client.force_login(world.users["commissioner"])
    html = client.get(reverse("interventions:queue")).content.decode()
    assert html.index("Older") < html.index("Newer")
    assert "Still a draft" not in html and "Other ICB" not in html
    rows = list(
        csv.DictReader(
            io.StringIO(client.get(reverse("interventions:queue") + "?format=csv").content.decode())
        )
    )
    assert [r["title"] for r in rows] == ["Older", "Newer"] and rows[0]["days_waiting"] == "9"


def test_queue_query_count_does_not_grow_with_plans(client, world, django_assert_max_num_queries):
    for i in range(6):
        _submitted(world, title=f"Plan {i}")
    client.force_login(world.users["commissioner"])
    with django_assert_max_num_queries(12):
        client.get(reverse("interventions:queue"))


def test_plan_list_and_csv(client, world, django_assert_max_num_queries):
    for i in range(4):
        complete_plan(world.pcn, title=f"Plan {i}")
    complete_plan(world.sibling_pcn, title="Sibling plan")
    client.force_login(world.users["pcn_member"])
    with django_assert_max_num_queries(12):
        html = client.get(reverse("interventions:pcn_plans", args=[world.pcn.code])).content.decode()
    assert "Plan 3" in html and "Sibling plan" not in html and "Draft" in html
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    reverse("interventions:pcn_plans", args=[world.pcn.code]) + "?format=csv"
                ).content.decode()
            )
        )
    )
    assert len(rows) == 4 and rows[0]["status"] == "Draft" and rows[0]["measures"] == "1"


def test_compare_shows_approved_plans_of_one_area_across_the_icbs_pcns(client, world):
    hypertension = ClinicalAreaFactory()
    asthma = ClinicalAreaFactory(code="asthma", name="Asthma", group="cyp")
    ours = complete_plan(world.pcn, title="Ours")
    sibling = complete_plan(world.sibling_pcn, title="Sibling plan")
    draft = complete_plan(PCNFactory(sub_icb=world.pcn.sub_icb), title="A draft")
    other_area = complete_plan(world.sibling_pcn, title="Asthma plan", clinical_area=asthma)
    other_icb = complete_plan(world.other_pcn, title="Other ICB")
    InterventionPlan.objects.filter(pk__in=[ours.pk, sibling.pk, other_area.pk, other_icb.pk]).update(
        status=Status.ACTIVE
    )
    assert draft.status == Status.DRAFT
    client.force_login(world.users["icb_analyst"])
    url = reverse("interventions:compare", args=[world.icb.code])
    html = client.get(url + f"?area={hypertension.code}").content.decode()
    assert "Ours" in html and "Sibling plan" in html
    assert "A draft" not in html and "Asthma plan" not in html and "Other ICB" not in html
    rows = list(csv.DictReader(io.StringIO(client.get(url + "?area=asthma&format=csv").content.decode())))
    assert rows == []  # no values recorded yet; the header is still there
    assert "Asthma plan" in client.get(url + "?area=asthma").content.decode()


def test_printable_plan_has_every_step_and_the_decisions(client, world):
    plan = _submitted(world)
    actions.decide(
        plan=plan, decision="approve", expected_version=plan.version, by=world.users["commissioner"]
    )
    client.force_login(world.users["icb_analyst"])
    html = client.get(reverse("interventions:plan_print", args=[plan.pk])).content.decode()
    for heading in (
        "1. Population",
        "2. Evidence",
        "3. Community engagement",
        "4. Intervention",
        "5. Outcome and measurement",
    ):
        assert heading in html
    assert "Approved" in html and "window.print()" in html and "portal-no-print" in html


def test_analyst_sees_the_plan_status_but_no_edit_or_decision_controls(client, world):
    plan = _submitted(world)
    client.force_login(world.users["icb_analyst"])
    html = client.get(_detail(plan)).content.decode()
    assert "Awaiting decision" in html
    assert (
        "Decide on this plan" not in html
        and "Submit for approval" not in html
        and "nhsuk-task-list" not in html
    )


def test_measure_page_lists_values_without_depending_on_spc(client, world):
    plan = complete_plan(world.pcn)
    InterventionPlan.objects.filter(pk=plan.pk).update(status=Status.ACTIVE)
    measure = plan.measures.get()
    actions.record_measurement(
        measure=measure,
        period=datetime.date(2025, 1, 1),
        numerator=3,
        denominator=4,
        by=world.users["hi_lead"],
    )
    client.force_login(world.users["commissioner"])
    html = client.get(reverse("interventions:measure_detail", args=[measure.pk])).content.decode()
    assert "Jan 2025" in html and "75" in html
    assert "Record a value" not in html  # commissioners do not record


@pytest.mark.parametrize("step", ["nonsense"])
def test_unknown_step_is_404(client, world, step):
    plan = complete_plan(world.pcn)
    client.force_login(world.users["hi_lead"])
    assert client.get(_step(plan, step)).status_code == 404


# --- Needs the SPC engine and chart from the `stats` branch -----------------------------------------


def test_measure_page_with_fifteen_values_shows_an_spc_chart_with_a_signal(client, world):
    pytest.importorskip(
        "interventions.charts", reason="interventions.spc/charts arrive with the stats branch"
    )
    plan = complete_plan(world.pcn)
    InterventionPlan.objects.filter(pk=plan.pk).update(status=Status.ACTIVE)
    measure = plan.measures.get()
    values = [50, 52, 49, 51, 50, 48, 52, 50, 49, 51, 50, 52, 49, 80, 51]  # one point far above the limits
    for i, v in enumerate(values):
        actions.record_measurement(
            measure=measure,
            period=datetime.date(2024 + (i // 12), i % 12 + 1, 1),
            numerator=v,
            denominator=100,
            by=world.users["hi_lead"],
        )
    client.force_login(world.users["hi_lead"])
    html = client.get(reverse("interventions:measure_detail", args=[measure.pk])).content.decode()
    assert "plotly/plotly.min.js" in html and "Plotly.newPlot" in html
    assert "Special cause" in html and 'id="spc-summary"' in html
    spc_csv = client.get(reverse("interventions:measure_detail", args=[measure.pk]) + "?format=spc-csv")
    assert len(list(csv.DictReader(io.StringIO(spc_csv.content.decode())))) == 15


def test_compare_page_draws_small_multiples_from_the_spc_module(client, world):
    pytest.importorskip(
        "interventions.charts", reason="interventions.spc/charts arrive with the stats branch"
    )
    for pcn in (world.pcn, world.sibling_pcn):
        plan = complete_plan(pcn)
        InterventionPlan.objects.filter(pk=plan.pk).update(status=Status.ACTIVE)
        measure = plan.measures.get()
        for month in range(1, 5):
            actions.record_measurement(
                measure=measure,
                period=datetime.date(2025, month, 1),
                numerator=40 + month,
                denominator=100,
                by=world.users["administrator"],
            )
    client.force_login(world.users["commissioner"])
    html = client.get(reverse("interventions:compare", args=[world.icb.code])).content.decode()
    assert html.count("Plotly.newPlot") == 2
    assert "Blackburn West PCN: Blood pressure" in html and "Darwen PCN: Blood pressure" in html


def test_views_never_write_models_themselves():
    """Writes go through interventions.actions (audited); the views only read and call actions."""
    import ast
    from pathlib import Path

    import interventions.views

    writes = {
        "save",
        "create",
        "delete",
        "update",
        "bulk_create",
        "bulk_update",
        "get_or_create",
        "update_or_create",
    }
    offenders = []
    for path in Path(interventions.views.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in writes
            ):
                offenders.append(f"{path.name}:{node.lineno}: .{node.func.attr}()")
    assert not offenders, offenders


def test_plan_page_query_count_does_not_grow_with_records(client, world, django_assert_max_num_queries):
    from tests.factories.interventions import EngagementRecordFactory, MeasureFactory

    plan = _submitted(world)
    for _ in range(5):
        EngagementRecordFactory(plan=plan)
        MeasureFactory(plan=plan)
    client.force_login(world.users["commissioner"])
    with django_assert_max_num_queries(20):
        assert client.get(_detail(plan)).status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get(reverse("interventions:plan_decide", args=[plan.pk])).status_code == 200
