"""The plan journey in a real browser (Playwright driving Debian's Chromium against live_server):
the HI lead drafts and submits; a commissioner requests changes; the lead resubmits; the
commissioner approves; the lead records 15 monthly values; the SPC chart shows a special-cause
signal; the ICB analyst sees the plan's status. Screenshots go to var/test-artifacts/screenshots.
"""

import datetime
import importlib.util
import re

import pytest

from interventions.models import InterventionPlan, Measurement
from tests.factories.interventions import TargetPopulationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
SPC_AVAILABLE = importlib.util.find_spec("interventions.charts") is not None


def sign_in(page, email):
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.fill('input[name="login"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.locator('form button[type="submit"]').last.click()
    page.wait_for_url(re.compile(r".*/$"))
    assert "/accounts/login/" not in page.url


def fill_step(page, plan_id, step, values, checks=(), radios=()):
    page.goto(f"/plans/{plan_id}/steps/{step}/")
    for name, value in values.items():
        page.fill(f'[name="{name}"]', value)
    for name, value in checks:
        page.check(f'input[name="{name}"][value="{value}"]')
    for name, value in radios:
        page.check(f'input[name="{name}"][value="{value}"]')
    page.get_by_role("button", name="Save and return to the plan").click()
    page.wait_for_url(f"**/plans/{plan_id}/")
    assert page.locator(f"#step-{step}-status").inner_text().strip() == "Completed"


def test_plan_journey_from_draft_to_spc(page, world, screenshot_dir):
    lead, commissioner, analyst = (world.users[r].email for r in ("hi_lead", "commissioner", "icb_analyst"))
    tp = TargetPopulationFactory(pcn=world.pcn, name="Core20 adults aged 40 and over", computed_size=5120)

    # 1. The HI lead drafts the plan, step by step, and submits it.
    sign_in(page, lead)
    page.goto(f"/plans/pcns/{world.pcn.code}/")
    page.get_by_role("link", name="Start a new plan").click()
    page.fill('[name="title"]', "Blood pressure checks where people are")
    page.select_option('[name="target_population"]', str(tp.pk))
    page.get_by_role("button", name="Start the plan").click()
    plan = InterventionPlan.objects.get()
    page.wait_for_url(f"**/plans/{plan.pk}/")
    assert page.locator("#step-population-status").inner_text().strip() == "Completed"
    fill_step(
        page,
        plan.pk,
        "evidence",
        {
            "evidence_profile": "61% of our registered patients live in Core20 LSOAs (IoD2019, extract Jan 2022).",
            "inequality_description": "Hypertension is diagnosed later in our most deprived neighbourhoods.",
        },
        checks=[("inequality_types", "access"), ("inequality_types", "outcomes")],
    )
    page.goto(f"/plans/{plan.pk}/steps/engagement/")
    page.fill('[name="who"]', "South Asian women's group; community connectors")
    page.fill('[name="method"]', "Listening session with an interpreter")
    page.fill('[name="held_on"]', "2025-03-12")
    page.fill('[name="heard"]', "Weekday appointments clash with work and childcare.")
    page.fill('[name="changed_plan"]', "Checks move to the community centre on Saturdays.")
    page.get_by_role("button", name="Add the record").click()
    page.wait_for_url(f"**/plans/{plan.pk}/steps/engagement/")
    page.get_by_role("button", name="Save and return to the plan").click()
    fill_step(
        page,
        plan.pk,
        "intervention",
        {
            "intervention_what": "Pop-up blood pressure checks at community venues",
            "intervention_by_whom": "Health and wellbeing coaches with practice nurses",
            "start_date": "2025-04-01",
            "end_date": "2026-06-30",
            "risks": "Venue availability",
            "equity_impact": "Working-age men may still miss out: evening sessions added.",
        },
        checks=[("arrs_roles", "Health and wellbeing coach")],
        radios=[("equity_could_widen", "possibly")],
    )
    page.goto(f"/plans/{plan.pk}/measures/new/")
    page.fill('[name="name"]', "Blood pressure recorded")
    page.check('input[name="kind"][value="proportion"]')
    page.fill('[name="numerator_definition"]', "Core20 adults 40+ with a BP reading in 5 years")
    page.fill('[name="denominator_definition"]', "Core20 adults 40+")
    page.check('input[name="direction"][value="higher"]')
    page.fill('[name="baseline_value"]', "60")
    page.fill('[name="baseline_period"]', "Year to March 2025")
    page.fill('[name="target_value"]', "70")
    page.fill('[name="target_date"]', "2026-03-31")
    page.check('input[name="frequency"][value="monthly"]')
    page.fill('[name="data_source"]', "Practice searches")
    page.get_by_role("button", name="Save the measure").click()
    page.wait_for_url(f"**/plans/{plan.pk}/steps/outcomes/")
    page.fill('[name="outcome"]', "More Core20 adults have their blood pressure checked.")
    page.fill('[name="qi_approach"]', "Monthly PDSA cycles reviewed at the PCN board")
    page.get_by_role("button", name="Save and return to the plan").click()
    page.wait_for_url(f"**/plans/{plan.pk}/")
    page.screenshot(path=screenshot_dir / "plan-01-draft-complete.png", full_page=True)
    page.get_by_role("button", name="Submit for approval").click()
    page.wait_for_url(f"**/plans/{plan.pk}/")
    assert "Awaiting decision" in page.locator("#plan-status").inner_text()

    # 2. The commissioner finds it in the queue and requests changes.
    sign_in(page, commissioner)
    page.goto("/plans/queue/")
    page.get_by_role("link", name="Blood pressure checks where people are").click()
    assert "first version to be decided on" in page.content()
    page.check('input[name="decision"][value="request_changes"]')
    page.fill('[name="comment"]', "How will you reach working-age men?")
    page.screenshot(path=screenshot_dir / "plan-02-request-changes.png", full_page=True)
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_url(f"**/plans/{plan.pk}/")
    assert "Changes requested" in page.locator("#plan-status").inner_text()

    # 3. The lead sees the comment, changes the plan and resubmits.
    sign_in(page, lead)
    page.goto(f"/plans/{plan.pk}/")
    assert "How will you reach working-age men?" in page.content()
    fill_step(
        page,
        plan.pk,
        "intervention",
        {"risks": "Venue availability; low uptake by working-age men (evening sessions at the gym)"},
    )
    page.get_by_role("button", name="Submit for approval").click()
    page.wait_for_url(f"**/plans/{plan.pk}/")
    assert "Awaiting decision" in page.locator("#plan-status").inner_text()

    # 4. The commissioner sees what changed since the last decision and approves.
    sign_in(page, commissioner)
    page.goto(f"/plans/{plan.pk}/decide/")
    comparison = page.locator("table.portal-comparison")
    assert "Risks" in comparison.inner_text() and "evening sessions at the gym" in comparison.inner_text()
    page.screenshot(path=screenshot_dir / "plan-03-comparison.png", full_page=True)
    page.check('input[name="decision"][value="approve"]')
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_url(f"**/plans/{plan.pk}/")
    assert "Approved" in page.locator("#plan-status").inner_text()

    # 5. The lead starts delivery and records 15 monthly values: one by the form, 14 by upload.
    sign_in(page, lead)
    page.goto(f"/plans/{plan.pk}/")
    page.get_by_role("link", name="Start delivery").click()
    page.get_by_role("button", name="Start delivery").click()
    page.wait_for_url(f"**/plans/{plan.pk}/")
    assert "Active" in page.locator("#plan-status").inner_text()
    measure = plan.measures.get()
    page.goto(f"/plans/measures/{measure.pk}/record/")
    page.fill('[name="period"]', "2024-04")
    page.fill('[name="numerator"]', "300")
    page.fill('[name="denominator"]', "500")
    page.get_by_role("button", name="Save the value").click()
    page.wait_for_url(f"**/plans/measures/{measure.pk}/")
    # Stable around 60%, then a clear rise above the upper process limit in the last months.
    numerators = [302, 298, 305, 296, 301, 299, 303, 297, 300, 304, 298, 301, 360, 365]
    first = datetime.date(2024, 5, 1)
    lines = ["period,numerator,denominator"]
    for i, n in enumerate(numerators):
        month = (first.month - 1 + i) % 12 + 1
        year = first.year + (first.month - 1 + i) // 12
        lines.append(f"{year}-{month:02d},{n},500")
    page.goto(f"/plans/measures/{measure.pk}/upload/")
    page.set_input_files(
        'input[name="file"]',
        files=[{"name": "bp-monthly.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()}],
    )
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(f"**/plans/measures/{measure.pk}/")
    assert "14 added, 0 corrected, 0 unchanged" in page.content()
    assert Measurement.objects.filter(measure=measure).count() == 15
    assert page.locator("#measurements tbody tr").count() == 15

    # 6. The SPC chart shows a special-cause signal.
    # NEEDS interventions.spc and interventions.charts (branch `stats`): until they are merged
    # the page lists the values and says the SPC analysis is not installed.
    if SPC_AVAILABLE:
        page.wait_for_selector(f"#spc-{measure.pk} .main-svg")
        status = page.locator("#spc-status").inner_text()
        assert "Special cause variation: improvement" in status
        assert "Special cause" in page.locator("#spc-summary").inner_text()
    else:
        assert "The SPC analysis is not installed in this build" in page.content()
    page.screenshot(path=screenshot_dir / "plan-04-spc.png", full_page=True)

    # 7. The ICB analyst sees the plan's status.
    sign_in(page, analyst)
    page.goto(f"/plans/{plan.pk}/")
    assert "Active" in page.locator("#plan-status").inner_text()
    assert page.get_by_role("button", name="Submit for approval").count() == 0
    page.screenshot(path=screenshot_dir / "plan-05-analyst.png", full_page=True)
    if not SPC_AVAILABLE:
        pytest.skip(
            "journey passed up to the SPC signal, which needs interventions.spc/charts (branch stats)"
        )
