"""Every intervention-plan page passes axe-core with no serious or critical violation, as the
role that opens it, including forms showing their errors (WCAG 2.2 AA)."""

import datetime

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from django.urls import reverse

from interventions import actions
from interventions.models import InterventionPlan
from interventions.workflow import Status
from tests.factories.interventions import complete_plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FAILING_IMPACTS = {"serious", "critical"}

# URL names of interventions.urls that are not HTML pages (for the project-wide page inventory).
NOT_PAGES = {
    "interventions:engagement_remove": "POST only, redirects",
    "interventions:measure_remove": "POST only, redirects",
    "interventions:plan_submit": "POST only, redirects",
    "interventions:measure_rebase": "POST only, redirects",
    "interventions:plan_measures_csv": "a CSV download",
}


def sign_in_by_cookie(page, live_server, user):
    page.context.clear_cookies()
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def problems_on(page, name):
    page.wait_for_load_state("load")
    failing = [v for v in Axe().run(page).response["violations"] if v["impact"] in FAILING_IMPACTS]
    return [
        f"{name} ({page.url}): {v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(", ".join(map(str, n["target"])) for n in v["nodes"][:3])
        for v in failing
    ]


def _world_with_plans(world):
    lead, commissioner = world.users["hi_lead"], world.users["commissioner"]
    draft = complete_plan(world.pcn, title="Draft plan")
    decided = complete_plan(world.pcn, title="Resubmitted plan")
    actions.submit(plan=decided, expected_version=decided.version, by=lead)
    decided.refresh_from_db()
    actions.decide(
        plan=decided,
        decision="request_changes",
        comment="Say more",
        expected_version=decided.version,
        by=commissioner,
    )
    decided.refresh_from_db()
    decided = actions.update_plan(
        plan=decided, changes={"risks": "Changed"}, expected_version=decided.version, by=lead
    )
    actions.submit(plan=decided, expected_version=decided.version, by=lead)
    active = complete_plan(world.pcn, title="Active plan")
    InterventionPlan.objects.filter(pk=active.pk).update(status=Status.ACTIVE)
    measure = active.measures.get()
    for i in range(14):
        actions.record_measurement(
            measure=measure,
            period=datetime.date(2024 + i // 12, i % 12 + 1, 1),
            numerator=50 + (i % 3) + (15 if i > 11 else 0),
            denominator=100,
            by=lead,
        )
    return draft, decided, active, measure


def test_plan_pages_have_no_serious_accessibility_violations(page, live_server, world):
    draft, decided, active, measure = _world_with_plans(world)
    pages = {
        "hi_lead": [
            ("plans", reverse("interventions:pcn_plans", args=[world.pcn.code])),
            ("new plan", reverse("interventions:plan_create", args=[world.pcn.code])),
            ("draft plan", reverse("interventions:plan_detail", args=[draft.pk])),
            *[
                (f"step {s}", reverse("interventions:plan_step", args=[draft.pk, s]))
                for s in ("population", "evidence", "engagement", "intervention", "outcomes")
            ],
            ("add measure", reverse("interventions:measure_add", args=[draft.pk])),
            ("edit measure", reverse("interventions:measure_edit", args=[draft.pk, draft.measures.get().pk])),
            ("version", reverse("interventions:plan_version", args=[decided.pk, 2])),
            ("print", reverse("interventions:plan_print", args=[decided.pk])),
            ("measure", reverse("interventions:measure_detail", args=[measure.pk])),
            ("record value", reverse("interventions:measurement_record", args=[measure.pk])),
            ("upload values", reverse("interventions:measurement_upload", args=[measure.pk])),
            ("complete", reverse("interventions:plan_transition", args=[active.pk, "complete"])),
        ],
        "commissioner": [
            ("queue", reverse("interventions:queue")),
            ("decide with comparison", reverse("interventions:plan_decide", args=[decided.pk])),
            ("compare", reverse("interventions:compare", args=[world.icb.code])),
        ],
    }
    problems = []
    for role, urls in pages.items():
        sign_in_by_cookie(page, live_server, world.users[role])
        for name, url in urls:
            response = page.goto(url)
            assert response.status == 200, f"{name}: HTTP {response.status}"
            problems += problems_on(page, name)
    assert not problems, "axe-core found serious or critical problems:\n" + "\n".join(problems)


def test_plan_forms_with_errors_are_accessible_and_link_to_their_fields(page, live_server, world):
    draft, decided, active, measure = _world_with_plans(world)
    problems = []
    sign_in_by_cookie(page, live_server, world.users["hi_lead"])
    page.goto(reverse("interventions:plan_step", args=[draft.pk, "evidence"]))
    page.fill('[name="evidence_profile"]', "")
    page.get_by_role("button", name="Save and return to the plan").click()
    summary = page.locator(".nhsuk-error-summary")
    summary.wait_for()
    problems += problems_on(page, "evidence step with errors")
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.name") == "evidence_profile"

    page.goto(reverse("interventions:measurement_upload", args=[measure.pk]))
    page.set_input_files(
        'input[name="file"]',
        files=[
            {
                "name": "bad.csv",
                "mimeType": "text/csv",
                "buffer": b"period,numerator,denominator\n2025-13,1,2\n",
            }
        ],
    )
    page.get_by_role("button", name="Upload").click()
    page.locator("#upload-errors").wait_for()
    assert "bad.csv:2: period:" in page.locator("#upload-errors").inner_text()
    problems += problems_on(page, "upload with errors")

    sign_in_by_cookie(page, live_server, world.users["commissioner"])
    page.goto(reverse("interventions:plan_decide", args=[decided.pk]))
    page.check('input[name="decision"][value="reject"]')
    page.get_by_role("button", name="Record the decision").click()
    page.locator(".nhsuk-error-summary").wait_for()
    problems += problems_on(page, "decision without a comment")
    assert not problems, "axe-core found serious or critical problems:\n" + "\n".join(problems)
