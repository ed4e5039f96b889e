"""One journey in Chromium: the clinical director nominates a HI lead; the lead opens the PCN's
profile and defines a Core20 target population and sees its size; the ICB analyst sees the lead in
the compliance view."""

import datetime

import pytest

from inequalities import catalogue
from inequalities.models import ClinicalArea, PlusGroup
from tests.factories import practice_in
from tests.factories.workspace import (
    ImdEditionFactory,
    LsoaDeprivationFactory,
    RegistrationFactory,
    RegistrationSnapshotFactory,
)

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory


def assert_accessible(page):
    """axe-core (bundled with axe-playwright-python, no network): no WCAG 2.2 A/AA violations."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}
    results = Axe().run(page, options=options)
    assert results.violations_count == 0, results.generate_report()


def sign_in(page, email):
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.mark.browser
def test_nominate_lead_define_core20_population_and_see_compliance(
    page, transactional_db, world, screenshot_dir
):
    catalogue.seed(ClinicalArea, PlusGroup)
    edition = ImdEditionFactory(year=2019, geography="LSOA11")
    snapshot = RegistrationSnapshotFactory(extract_date=datetime.date(2024, 10, 1), geography="LSOA11")
    practice = world.pcn.current_practices().get()
    second = practice_in(world.pcn, name="SECOND SURGERY")
    for code, decile, patients, practice_code in [
        ("E01000001", 1, 400, practice.code),
        ("E01000002", 2, 250, second.code),
        ("E01000003", 7, 900, practice.code),
    ]:
        LsoaDeprivationFactory(edition=edition, lsoa_code=code, decile=decile)
        RegistrationFactory(snapshot=snapshot, practice_code=practice_code, lsoa_code=code, patients=patients)

    # The clinical director nominates the PCN member as HI lead.
    sign_in(page, "cd@example.nhs.uk")
    page.goto(f"/pcns/{world.pcn.code}/")
    page.get_by_role("link", name="Health inequalities lead and history").click()
    page.get_by_role("link", name="Nominate a lead").click()
    assert_accessible(page)
    member = world.users["pcn_member"]
    page.get_by_label("A member of the PCN").select_option(value=str(member.pk))
    page.get_by_label("Non-clinical").check()
    page.get_by_label("Job title (optional)").fill("Social prescribing link worker")
    page.get_by_role("button", name="Nominate").click()
    page.wait_for_url(f"**/pcns/{world.pcn.code}/hi-lead/")
    assert "is now the HI lead" in page.content()
    assert member.email in page.locator("#current-lead").inner_text()

    # The new lead opens the profile and defines a Core20 target population.
    sign_in(page, member.email)
    page.goto(f"/pcns/{world.pcn.code}/workspace/")
    assert "IMD 2019" in page.locator("#basis").inner_text()
    core20 = page.locator("#profile-summary tbody tr").first.locator("td").nth(1).inner_text()
    assert core20 == "650"
    page.screenshot(path=str(screenshot_dir / "leads-workspace.png"), full_page=True)
    assert_accessible(page)
    page.get_by_role("link", name="Target populations").first.click()
    page.get_by_role("link", name="Define a target population").click()
    page.get_by_label("Name").fill("Core20 adults with hypertension")
    page.get_by_label("All Core20 patients of the PCN").check()
    page.get_by_label("Clinical area").select_option(label="Hypertension case-finding")
    page.get_by_label("Adults").check()
    page.get_by_role("button", name="Save and compute the size").click()
    page.wait_for_url("**/target-populations/*/")
    assert "650 Core20 patients" in page.locator("#computed-size").inner_text()
    assert_accessible(page)

    # The ICB analyst sees the lead in the compliance view.
    sign_in(page, "analyst@example.nhs.uk")
    page.goto(f"/icbs/{world.icb.code}/")
    page.get_by_role("link", name="HI lead nominations").click()
    assert "1 of 2" in page.locator("#compliance-count").inner_text()
    row = page.get_by_role("row", name="Blackburn West PCN")
    assert member.email in row.inner_text() and "No lead nominated" not in row.inner_text()
    page.screenshot(path=str(screenshot_dir / "leads-compliance.png"), full_page=True)
    assert_accessible(page)
    for path in [
        f"/icbs/{world.icb.code}/hi-leads/",
        f"/icbs/{world.icb.code}/plus-groups/",
        "/core20plus5/",
    ]:
        page.goto(path)
        assert_accessible(page)


@pytest.mark.browser
def test_lead_uploads_priority_targets_and_sees_problems_then_results(
    page, transactional_db, world, tmp_path
):
    from inequalities.targets import CSV_COLUMNS

    practice = world.pcn.current_practices().get()
    header = ",".join(c for c, _, _ in CSV_COLUMNS)
    bad, good = tmp_path / "bad.csv", tmp_path / "q1.csv"
    bad.write_text(f"{header}\n{practice.code},2025/26 Q1,10,12,5,3,900,1000,1\n")
    good.write_text(f"{header}\n{practice.code},2025/26 Q1,10,8,5,3,900,1000,1\n")
    sign_in(page, "lead@example.nhs.uk")
    page.goto(f"/pcns/{world.pcn.code}/priority-targets/")
    page.get_by_role("link", name="Upload returns (CSV)").click()
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Upload").click()
    assert (
        "bad.csv:2: ld_health_checks_with_action_plan: 12 is more than"
        in page.locator("#file-errors").inner_text()
    )
    assert_accessible(page)
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(f"**/pcns/{world.pcn.code}/priority-targets/")
    total = page.locator("#pcn-total").inner_text()
    assert "80.0%" in total and "8 of 10" in total and "Meets" in total
    assert_accessible(page)
