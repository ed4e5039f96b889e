"""Every page the portal serves passes axe-core with no serious or critical violation, as the
role that would open it (WCAG 2.2 AA is the NHS service standard's bar).

A new page should get an entry in PAGES. Each check signs in by session cookie (the sign-in form
itself is checked as its own page), opens the page in Chromium and runs axe-core on it.
"""

import re

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from playwright.sync_api import expect

from tests.auth_helpers import PASSWORD, current_totp_code

pytestmark = pytest.mark.browser

FAILING_IMPACTS = {"serious", "critical"}


def sign_in_by_cookie(page, live_server, user):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def describe(violations):
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}\n  {v['helpUrl']}")
        for node in v["nodes"][:5]:
            lines.append(f"    at {', '.join(map(str, node['target']))}: {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n      ")
            if summary:
                lines.append(f"      {summary}")
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def serious_violations(page):
    page.wait_for_load_state("load")
    violations = Axe().run(page).response["violations"]
    return [v for v in violations if v["impact"] in FAILING_IMPACTS]


def assert_accessible(page, name):
    failing = serious_violations(page)
    assert not failing, (
        f"axe-core found serious or critical problems on {name} ({page.url}):\n{describe(failing)}"
    )


# --- Pages opened straight from a URL, by role --------------------------------------------------

# role (None = signed out) -> [(name, url from the world, expected h1 or None)]. A new page gets
# an entry here, under the role that would open it.
PAGES = {
    None: [
        ("sign-in", lambda w: reverse("account_login"), "Sign in"),
        ("password-reset", lambda w: reverse("account_reset_password"), "Reset your password"),
        ("password-reset-sent", lambda w: reverse("account_reset_password_done"), "Check your email"),
        ("verification-sent", lambda w: reverse("account_email_verification_sent"), None),
        ("sign-up-closed", lambda w: reverse("account_signup"), "You cannot create an account yourself"),
        ("password-changed", lambda w: reverse("account_reset_password_from_key_done"), None),
        ("account-inactive", lambda w: reverse("account_inactive"), None),
    ],
    "hi_lead": [
        ("home", lambda w: reverse("home"), "My organisations"),
        ("england", lambda w: reverse("national"), None),
        ("pcn", lambda w: reverse("pcn_detail", args=[w.pcn.code]), None),
        ("not-found", lambda w: reverse("pcn_detail", args=[w.other_pcn.code]), "Page not found"),
        ("account-email", lambda w: reverse("account_email"), None),
        ("change-password", lambda w: reverse("account_change_password"), None),
        ("sign-out", lambda w: reverse("account_logout"), None),
    ],
    "no_role": [("home-no-role", lambda w: reverse("home"), "My organisations")],
    "clinical_director": [
        ("pcn-as-clinical-director", lambda w: reverse("pcn_detail", args=[w.pcn.code]), None),
        ("pcn-members", lambda w: reverse("pcn_members", args=[w.pcn.code]), None),
    ],
    "icb_analyst": [
        ("region", lambda w: reverse("region_detail", args=[w.icb.region.code]), None),
        ("icb", lambda w: reverse("icb_detail", args=[w.icb.code]), None),
        ("audit-icb", lambda w: reverse("audit"), None),
        ("mfa-index", lambda w: reverse("mfa_index"), None),
        ("confirm-access", lambda w: reverse("account_reauthenticate"), None),
    ],
    "administrator": [("audit-all", lambda w: reverse("audit"), None)],
}


@pytest.mark.parametrize("role", list(PAGES), ids=[r or "signed-out" for r in PAGES])
def test_accessibility_pages_have_no_serious_violations(page, live_server, world, screenshot_dir, role):
    """Every page for this role is checked; all problems are reported together."""
    if role:
        sign_in_by_cookie(page, live_server, world.users[role])
    problems = []
    for name, url, heading in PAGES[role]:
        response = page.goto(url(world))
        if response.status not in (200, 404):
            problems.append(f"{name} ({page.url}): HTTP {response.status}")
            continue
        if heading:
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        page.screenshot(path=screenshot_dir / f"page-{name}.png", full_page=True)
        failing = serious_violations(page)
        if failing:
            problems.append(f"{name} ({page.url}):\n{describe(failing)}")
    assert not problems, "axe-core found serious or critical problems:\n" + "\n".join(problems)


# Pages checked by the flow tests below, by URL name.
CHECKED_IN_FLOWS = {
    "account_reset_password_from_key": "test_accessibility_pages_from_email_links",
    "account_confirm_email": "test_accessibility_pages_from_email_links",
    "mfa_activate_totp": "test_accessibility_totp_setup_and_two_factor_sign_in",
    "mfa_view_recovery_codes": "test_accessibility_totp_setup_and_two_factor_sign_in",
    "mfa_deactivate_totp": "test_accessibility_totp_setup_and_two_factor_sign_in",
    "mfa_generate_recovery_codes": "test_accessibility_totp_setup_and_two_factor_sign_in",
    "mfa_reauthenticate": "test_accessibility_totp_setup_and_two_factor_sign_in",
    "mfa_authenticate": "test_accessibility_totp_setup_and_two_factor_sign_in",
    **dict.fromkeys(
        [
            "pcn_plans",
            "plan_create",
            "plan_detail",
            "plan_step",
            "measure_add",
            "measure_edit",
            "plan_version",
            "plan_print",
            "measure_detail",
            "measurement_record",
            "measurement_upload",
            "plan_transition",
            "queue",
            "plan_decide",
            "compare",
        ],
        "tests/browser/test_plan_accessibility.py",
    ),
    # Data imports (namespace "imports"): the upload page and a run's page.
    "index": "tests/browser/test_import_upload.py",
    "detail": "tests/browser/test_import_upload.py",
}
# URL names that serve no HTML page of their own.
NOT_PAGES = {
    "healthz": "JSON for the container health check",
    "end_pcn_membership": "POST only, redirects",
    "mfa_download_recovery_codes": "a text file download",
    "account_confirm_login_code": "sign-in by emailed code is not enabled",
    "account_set_password": "redirects: every account that can sign in has a password",
    "engagement_remove": "POST only, redirects",
    "measure_remove": "POST only, redirects",
    "plan_submit": "POST only, redirects",
    "measure_rebase": "POST only, redirects",
    "plan_measures_csv": "a CSV download",
}


# --- HI leads, Core20PLUS5, the population workspace and priority targets ----------------------
# (tests/inequalities/test_leads_browser.py also checks these pages filled with data)


def _target_population(w):
    from inequalities.models import ClinicalArea, TargetPopulation

    area, _ = ClinicalArea.objects.get_or_create(code="smi", defaults={"name": "SMI", "group": "adult"})
    tp, _ = TargetPopulation.objects.get_or_create(
        pcn=w.pcn, name="Core20 SMI", defaults={"clinical_area": area}
    )
    return tp


def _plus_group(w):
    from inequalities.models import PlusGroup

    return PlusGroup.objects.get_or_create(icb=w.icb, name="Armed forces veterans")[0]


PAGES["hi_lead"] += [
    ("hi-lead", lambda w: reverse("hi_lead_detail", args=[w.pcn.code]), "Health inequalities lead"),
    ("lead-activity", lambda w: reverse("lead_activity", args=[w.pcn.code]), "HI lead activity log"),
    ("lead-activity-add", lambda w: reverse("lead_activity_add", args=[w.pcn.code]), None),
    ("icb-lead-directory", lambda w: reverse("icb_lead_directory", args=[w.icb.code]), None),
    ("peer-network", lambda w: reverse("peer_network"), "Peer network of HI leads"),
    ("core20plus5", lambda w: reverse("core20plus5"), "Core20PLUS5"),
    ("plus-list", lambda w: reverse("plus_list", args=[w.icb.code]), "PLUS groups"),
    ("pcn-workspace", lambda w: reverse("pcn_workspace", args=[w.pcn.code]), "Who our patients are"),
    ("target-populations", lambda w: reverse("target_population_list", args=[w.pcn.code]), None),
    ("target-population-add", lambda w: reverse("target_population_add", args=[w.pcn.code]), None),
    (
        "target-population",
        lambda w: reverse("target_population_detail", args=[w.pcn.code, _target_population(w).pk]),
        None,
    ),
    (
        "target-population-edit",
        lambda w: reverse("target_population_edit", args=[w.pcn.code, _target_population(w).pk]),
        None,
    ),
    ("priority-targets", lambda w: reverse("priority_targets_pcn", args=[w.pcn.code]), "Priority targets"),
    ("priority-targets-enter", lambda w: reverse("priority_targets_enter", args=[w.pcn.code]), None),
    ("priority-targets-upload", lambda w: reverse("priority_targets_upload", args=[w.pcn.code]), None),
]
PAGES["clinical_director"] += [
    ("hi-lead-nominate", lambda w: reverse("hi_lead_nominate", args=[w.pcn.code]), None),
]
PAGES["icb_analyst"] += [
    (
        "icb-lead-compliance",
        lambda w: reverse("icb_lead_compliance", args=[w.icb.code]),
        "HI lead nominations",
    ),
    ("icb-lead-activity", lambda w: reverse("icb_lead_activity", args=[w.icb.code]), None),
    ("plus-group-add", lambda w: reverse("plus_group_add", args=[w.icb.code]), "Add a PLUS group"),
    ("plus-group-edit", lambda w: reverse("plus_group_edit", args=[w.icb.code, _plus_group(w).pk]), None),
    ("priority-targets-icb", lambda w: reverse("priority_targets_icb", args=[w.icb.code]), None),
]
NOT_PAGES.update(
    {
        "hi_lead_end": "POST only, redirects",
        "plus_group_retire": "POST only, redirects",
        "priority_targets_template": "a CSV download",
        "status": "JSON polled by the import progress bar",
        "errors_csv": "a CSV download",
        "summary_csv": "a CSV download",
    }
)


# --- Dashboards and data imports (tests/browser/test_dashboards.py checks the dashboards filled
# with figures; tests/browser/test_import_upload.py the imports journey) ------------------------


def _import_run(w):
    from inequalities.models import ImportRun

    run = ImportRun.objects.create(
        kind=ImportRun.Kind.IMD, source_name="imd.csv", status=ImportRun.Status.FAILED
    )
    return run.pk


PAGES["hi_lead"] += [
    ("dashboards-england", lambda w: reverse("dashboards:england"), None),
    ("dashboards-pcn", lambda w: reverse("dashboards:pcn", args=[w.pcn.code]), None),
]
PAGES["icb_analyst"] += [
    ("dashboards-icb", lambda w: reverse("dashboards:icb", args=[w.icb.code]), None),
    ("imports", lambda w: reverse("imports:index"), "Data imports"),
    ("import-run", lambda w: reverse("imports:detail", args=[_import_run(w)]), None),
]
NOT_PAGES.update(
    {
        "status": "imports: a run's progress as JSON",
        "errors_csv": "imports: a CSV download",
        "summary_csv": "imports: a CSV download",
    }
)


def _url_names(resolver):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            # Django's own admin is out of scope; the plan pages (namespace "interventions") have
            # their own every-page check in tests/browser/test_plan_accessibility.py.
            if pattern.namespace not in ("admin", "interventions"):
                yield from _url_names(pattern)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield pattern.name


def test_accessibility_every_page_is_checked(world):
    """A new URL fails this test until its page is added to PAGES or a flow test (or NOT_PAGES)."""
    in_pages = {resolve(url(world).split("?")[0]).url_name for pages in PAGES.values() for _, url, _ in pages}
    unchecked = set(_url_names(get_resolver())) - in_pages - set(CHECKED_IN_FLOWS) - set(NOT_PAGES)
    assert not unchecked, f"pages without an accessibility check: {sorted(unchecked)}"


def test_accessibility_check_catches_a_violation(page):
    # The check itself can fail: an image without a text alternative is a critical violation.
    page.set_content('<html lang="en"><title>t</title><main><img src="data:,"></main></html>')
    results = Axe().run(page)
    assert any(v["id"] == "image-alt" and v["impact"] == "critical" for v in results.response["violations"])
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page, "a broken page")


# --- Pages reached through a flow ---------------------------------------------------------------


def test_accessibility_forms_with_errors(page, world):
    page.goto(reverse("account_login"))
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    # NHS.UK frontend moves focus to the summary so screen readers announce it.
    expect(page.locator(".nhsuk-error-summary")).to_be_focused()
    assert_accessible(page, "sign-in with empty fields")

    page.get_by_label("Email", exact=True).fill(world.users["hi_lead"].email)
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("not correct")
    assert_accessible(page, "sign-in with a wrong password")

    page.goto(reverse("account_reset_password"))
    page.get_by_label("Email").fill("not an email")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    # The summary's link takes focus to the field it is about.
    page.locator(".nhsuk-error-summary a").first.click()
    expect(page.get_by_label("Email")).to_be_focused()
    assert_accessible(page, "password reset with an invalid email")


def test_accessibility_pages_from_email_links(page, world):
    user = world.users["hi_lead"]
    address = EmailAddress.objects.get(user=user)
    address.verified = False
    address.save()
    page.goto(reverse("account_confirm_email", args=[EmailConfirmationHMAC(address).key]))
    expect(page.get_by_role("button", name="Confirm")).to_be_visible()
    assert_accessible(page, "confirm email address")

    link = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": default_token_generator.make_token(user)},
    )
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    assert_accessible(page, "choose a new password")
    page.get_by_role("textbox", name="New Password", exact=True).fill("short")
    page.get_by_role("textbox", name="New Password (again)", exact=True).fill("different")
    page.get_by_role("button", name="Save new password").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_accessible(page, "choose a new password with errors")


def test_accessibility_totp_setup_and_two_factor_sign_in(page, live_server, world, screenshot_dir):
    analyst = world.users["icb_analyst"]
    sign_in_by_cookie(page, live_server, analyst)
    page.goto(reverse("mfa_activate_totp") + "?required=1")
    # allauth asks for the password again before changing two-factor settings.
    expect(page).to_have_url(re.compile(re.escape(reverse("account_reauthenticate"))))
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up an authenticator app")
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    page.screenshot(path=screenshot_dir / "mfa-1-set-up-app.png", full_page=True)
    assert_accessible(page, "set up an authenticator app")

    secret = page.locator("#authenticator_secret").inner_text()
    page.get_by_label("Authenticator code").fill("12")
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_accessible(page, "set up an authenticator app with a wrong code")

    page.get_by_label("Authenticator code").fill(current_totp_code(secret))
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("mfa_view_recovery_codes"))))
    page.screenshot(path=screenshot_dir / "mfa-2-recovery-codes.png", full_page=True)
    assert_accessible(page, "recovery codes")
    page.goto(reverse("mfa_index"))
    page.screenshot(path=screenshot_dir / "mfa-3-index.png", full_page=True)
    assert_accessible(page, "two-factor authentication with an app set up")
    page.goto(reverse("mfa_deactivate_totp"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page, "turn off the authenticator app")
    page.goto(reverse("mfa_generate_recovery_codes"))
    assert_accessible(page, "new recovery codes")
    page.goto(reverse("mfa_reauthenticate"))
    expect(page.get_by_label("Code")).to_be_visible()
    assert_accessible(page, "confirm it's you with a code")

    # A user with TOTP is asked for a code after their password.
    lead = world.users["hi_lead"]
    TOTP.activate(lead, generate_totp_secret())
    page.context.clear_cookies()
    page.goto(reverse("account_login"))
    page.get_by_label("Email", exact=True).fill(lead.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("mfa_authenticate"))))
    assert_accessible(page, "two-factor sign-in")


def test_accessibility_pcn_members_form_with_errors(page, live_server, world):
    sign_in_by_cookie(page, live_server, world.users["clinical_director"])
    page.goto(reverse("pcn_members", args=[world.pcn.code]))
    page.get_by_role("button", name="Add to the PCN").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_focused()
    assert_accessible(page, "add someone to the PCN, with errors")
    # The summary's link moves focus to the field.
    summary.get_by_role("link").click()
    expect(page.get_by_label("Email address")).to_be_focused()


REFLOW_PAGES = [
    (None, lambda w: reverse("account_login")),
    ("hi_lead", lambda w: reverse("home")),
    ("hi_lead", lambda w: reverse("pcn_detail", args=[w.pcn.code])),
    ("icb_analyst", lambda w: reverse("icb_detail", args=[w.icb.code])),
    ("icb_analyst", lambda w: reverse("mfa_index")),
]


def test_accessibility_pages_reflow_at_320_pixels(page, live_server, world):
    """WCAG 1.4.10: content fits a 320 CSS pixel wide screen without scrolling sideways. Data
    tables are exempt (two-dimensional layout), so they are set aside before measuring."""
    page.set_viewport_size({"width": 320, "height": 640})
    for role, url in REFLOW_PAGES:
        page.context.clear_cookies()
        if role:
            sign_in_by_cookie(page, live_server, world.users[role])
        page.goto(url(world))
        assert_accessible(page, f"{page.url} at 320px")
        overflow = page.evaluate(
            """() => {
                document.querySelectorAll("table").forEach(t => { t.style.display = "none"; });
                return document.documentElement.scrollWidth - document.documentElement.clientWidth;
            }"""
        )
        assert overflow <= 0, f"{page.url} is {overflow}px wider than a 320px screen"
