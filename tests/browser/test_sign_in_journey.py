"""The HI lead's journey in a real browser (Debian's Chromium via Playwright): sign in, see their
PCN, be refused another PCN, sign out. Screenshots go to var/test-artifacts/screenshots."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password


def test_sign_in_journey_hi_lead_sees_own_pcn_only(page, world, screenshot_dir):
    lead = world.users["hi_lead"]
    pcn, other = world.pcn, world.other_pcn

    page.goto("/accounts/login/")
    expect(page).to_have_title(re.compile(r"^Sign in"))
    expect(page.get_by_role("link", name=re.compile("sign up", re.I))).to_have_count(0)
    page.get_by_label("Email", exact=True).fill(lead.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.screenshot(path=screenshot_dir / "sign-in-1-form.png", full_page=True)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("My organisations")
    expect(page.get_by_role("banner")).to_contain_text(lead.email)
    own = page.get_by_role("link", name=pcn.display_name)
    expect(own).to_be_visible()
    expect(page.get_by_role("link", name=other.display_name)).to_have_count(0)
    page.screenshot(path=screenshot_dir / "sign-in-2-my-organisations.png", full_page=True)

    own.click()
    expect(page).to_have_url(re.compile(rf"/pcns/{pcn.code}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(pcn.display_name)
    page.screenshot(path=screenshot_dir / "sign-in-3-own-pcn.png", full_page=True)

    response = page.goto(f"/pcns/{other.code}/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_text(other.display_name)).to_have_count(0)
    page.screenshot(path=screenshot_dir / "sign-in-4-other-pcn-404.png", full_page=True)

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    page.screenshot(path=screenshot_dir / "sign-in-5-signed-out.png", full_page=True)

    # Signed out for real: the PCN page now asks for a sign-in.
    page.goto(f"/pcns/{pcn.code}/")
    expect(page).to_have_url(re.compile(rf"/accounts/login/\?next=/pcns/{pcn.code}/"))
