"""The dashboards in Chromium: each renders its Plotly charts, a filter narrows it, a CSV
downloads, and axe finds nothing serious or critical. Screenshots go to the screenshot folder."""

import csv

import pytest

from tests.dashboards.builders import add_pcns, load_deprivation, nominate_lead

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # tests/factories UserFactory


def sign_in(page, email):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def assert_accessible(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]})
    serious = [v for v in results.response["violations"] if v.get("impact") in {"serious", "critical"}]
    assert not serious, [(v["id"], [n["target"] for n in v["nodes"]]) for v in serious]


def charts_drawn(page, at_least):
    page.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {at_least}", timeout=15000
    )
    return page.locator(".js-plotly-plot").count()


def download_csv(page, link_text, tmp_path):
    with page.expect_download() as info:
        page.get_by_role("link", name=link_text).first.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


@pytest.fixture
def dashboards_data(world):
    add_pcns(world, 3)
    nominate_lead(world)
    load_deprivation()
    return world


def test_dashboards_journey(page, dashboards_data, screenshot_dir, tmp_path):
    world = dashboards_data
    sign_in(page, "analyst@example.nhs.uk")

    # England: three charts, a region filter narrows the PCN list, the ICB table downloads.
    page.get_by_role("link", name="Dashboards").first.click()
    page.wait_for_url("**/dashboards/")
    assert charts_drawn(page, 3) == 3
    assert page.locator("#pcn-count").inner_text() == "Showing 1 to 9 of 9 PCNs."
    assert_accessible(page)
    page.screenshot(path=screenshot_dir / "dashboards-1-england.png", full_page=True)
    page.select_option("#region", world.other_icb.region.code)
    page.get_by_role("button", name="Show region").click()
    page.wait_for_url(f"**region={world.other_icb.region.code}**")
    charts_drawn(page, 3)
    assert page.locator("#pcn-count").inner_text() == "Showing 1 to 4 of 4 PCNs."
    rows = download_csv(page, "Download ICBs (CSV)", tmp_path)
    assert [r[0] for r in rows[1:]] == [world.other_icb.code]
    page.screenshot(path=screenshot_dir / "dashboards-2-region.png", full_page=True)

    # The ICB overview: sortable, filterable PCN table with the filters in the URL.
    page.goto(f"/dashboards/icbs/{world.icb.code}/")
    assert charts_drawn(page, 1) >= 1
    assert page.locator("table[data-table=pcns] tbody tr").count() == 5
    assert_accessible(page)
    page.screenshot(path=screenshot_dir / "dashboards-3-icb.png", full_page=True)
    page.select_option("#lead", "yes")
    page.get_by_role("button", name="Filter PCNs").click()
    page.wait_for_url("**lead=yes**")
    assert page.locator("table[data-table=pcns] tbody tr").count() == 1
    assert page.locator("#pcn-count").inner_text() == "Showing 1 of 5 PCNs (filtered)."
    rows = download_csv(page, "Download these PCNs (CSV)", tmp_path)
    assert [r[0] for r in rows[1:]] == [world.pcn.code]
    page.get_by_role("link", name="Core20 share", exact=True).click()
    page.wait_for_url("**sort=core20_share**")
    assert "lead=yes" in page.url
    assert_accessible(page)

    # The PCN dashboard: deprivation profile and practices; a chart's data downloads.
    page.get_by_role("link", name="Blackburn West PCN").click()
    page.wait_for_url(f"**/dashboards/pcns/{world.pcn.code}/")
    assert charts_drawn(page, 2) == 2
    page.locator("summary").first.click()  # the data table of the first chart opens
    assert page.locator("table[data-table=deciles]").is_visible()
    assert_accessible(page)
    page.screenshot(path=screenshot_dir / "dashboards-4-pcn.png", full_page=True)
    rows = download_csv(page, "Download the data for this chart (CSV)", tmp_path)
    assert rows[0][:3] == ["IMD decile", "Patients", "Share of patients with a known decile (%)"]
    assert len(rows) == 12  # ten deciles and the unknowns


def test_pcn_dashboard_of_another_icb_is_not_found(page, dashboards_data):
    sign_in(page, "lead@example.nhs.uk")
    response = page.goto(f"/dashboards/pcns/{dashboards_data.other_pcn.code}/")
    assert response.status == 404
