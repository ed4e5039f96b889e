"""Sign-in with django-allauth, end to end through the test client: the real allauth views, forms,
rate limits, emails and TOTP, on the portal's settings and templates."""

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from inequalities.models import AuditEvent
from tests.auth_helpers import PASSWORD, current_totp_code, use_private_cache
from tests.factories import UserFactory

LOGIN = reverse("account_login")


@pytest.fixture(autouse=True)
def _private_cache(settings, request):
    # Rate-limit counters start at zero in every test (see use_private_cache).
    use_private_cache(settings, request.node.nodeid)


def sign_in(client, email, password=PASSWORD):
    return client.post(LOGIN, {"login": email, "password": password})


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def open_after_password_confirmation(client, url):
    """GET `url`; allauth asks for the password again before MFA changes (reauthentication)."""
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    confirm = client.get(response["Location"])
    assert "Confirm it's you" in confirm.content.decode()
    response = client.post(response["Location"], {"password": PASSWORD})
    assert response["Location"] == url
    return client.get(url)


def key_limit(rate_limits):
    """The per-account amount of a rule such as "20/m/ip,5/5m/key"."""
    for rule in rate_limits.split(","):
        amount, _, rest = rule.strip().partition("/")
        if rest.endswith("/key"):
            return int(amount)
    raise AssertionError(f"no per-account limit in {rate_limits!r}")


# --- Sign-in page and sign-in -------------------------------------------------------------------


def test_sign_in_page_nhs_markup_without_sign_up_link(client, db):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Sign in – PCN Health Inequalities Portal</title>" in html
    assert '<label class="nhsuk-label" for="id_login">' in html
    assert 'class="nhsuk-input" type="email" name="login" id="id_login"' in html
    assert 'type="password" name="password" id="id_password" autocomplete="current-password"' in html
    assert 'class="nhsuk-button"' in html
    # The "Forgot your password?" hint is tied to the password box.
    assert 'aria-describedby="id_password-hint"' in html
    assert reverse("account_reset_password") in html
    assert reverse("account_signup") not in html
    assert "sign up" not in html.lower()
    assert "clinical director or an administrator" in html


def test_sign_in_email_and_password_reaches_my_organisations(client, world):
    lead = world.users["hi_lead"]
    response = sign_in(client, lead.email)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert signed_in_user_id(client) == str(lead.pk)
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert "My organisations" in home.content.decode()
    assert world.pcn.display_name in home.content.decode()


def test_sign_in_wrong_password_error_summary_links_to_field(client, world):
    response = sign_in(client, world.users["hi_lead"].email, "not-the-password")
    assert response.status_code == 200
    assert signed_in_user_id(client) is None
    html = response.content.decode()
    assert "<title>Error: Sign in" in html
    summary = html[html.index('class="nhsuk-error-summary"') :]
    assert "There is a problem" in summary
    assert re.search(r'<a href="#id_login">The email address and/or password you specified', summary)
    # What was typed as a password is never written back into the page.
    assert "not-the-password" not in html


def test_sign_in_field_error_described_by_its_message(client, db):
    response = client.post(LOGIN, {"login": "", "password": ""})
    html = response.content.decode()
    assert '<a href="#id_login">This field is required.</a>' in html
    assert '<a href="#id_password">This field is required.</a>' in html
    assert 'class="nhsuk-form-group nhsuk-form-group--error"' in html
    assert 'id="id_login-error"' in html
    assert re.search(r'id="id_login"[^>]*aria-describedby="id_login-error"', html)
    assert 'class="nhsuk-input nhsuk-input--error"' in html


def test_sign_in_wrong_password_rate_limited_after_settings_limit(client, world):
    lead = world.users["hi_lead"]
    limit = key_limit(settings.ACCOUNT_RATE_LIMITS["login_failed"])
    for _ in range(limit):
        response = sign_in(client, lead.email, "wrong-password-1")
        assert "you specified are not correct" in response.content.decode()
    # Over the limit even the right password is refused, without being checked.
    response = sign_in(client, lead.email)
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert signed_in_user_id(client) is None
    assert AuditEvent.objects.filter(action="auth.sign_in_failed").count() == limit
    assert AuditEvent.objects.get(action="auth.sign_in_rate_limited").after == {"email": lead.email}
    # Another account is not locked by this one's failures.
    assert sign_in(client, world.users["pcn_member"].email).status_code == 302


@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "20/m/ip,2/5m/key"})
def test_sign_in_rate_limit_follows_the_setting(client, world):
    email = world.users["hi_lead"].email
    for _ in range(2):
        assert "not correct" in sign_in(client, email, "wrong-password-1").content.decode()
    assert "Too many failed login attempts" in sign_in(client, email).content.decode()


# --- Email verification -------------------------------------------------------------------------


@pytest.fixture
def unverified_user(db):
    user = UserFactory(username="new.starter@example.nhs.uk")
    EmailAddress.objects.filter(user=user).update(verified=False)
    return user


@override_settings(ACCOUNT_EMAIL_VERIFICATION="mandatory")
def test_sign_in_unverified_email_blocked_when_mandatory(client, unverified_user):
    # allauth reads its settings on each access (allauth.utils.get_setting), so
    # override_settings reaches it.
    from allauth.account import app_settings

    assert app_settings.EMAIL_VERIFICATION == app_settings.EmailVerificationMethod.MANDATORY
    response = sign_in(client, unverified_user.email)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert signed_in_user_id(client) is None
    assert client.get(reverse("home")).status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [unverified_user.email]
    confirm_url = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", mail.outbox[0].body)[1]
    # Confirming the address lets them in.
    assert client.post(confirm_url).status_code == 302
    assert EmailAddress.objects.get(user=unverified_user).verified
    assert AuditEvent.objects.get(action="auth.email_verified").after == {
        "email": unverified_user.email,
        "by": "confirmation link",
    }
    assert sign_in(client, unverified_user.email).status_code == 302
    assert signed_in_user_id(client) == str(unverified_user.pk)


@override_settings(ACCOUNT_EMAIL_VERIFICATION="optional")
def test_sign_in_unverified_email_allowed_when_optional(client, unverified_user):
    response = sign_in(client, unverified_user.email)
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(unverified_user.pk)


# --- Password reset -----------------------------------------------------------------------------


def test_password_reset_email_link_sets_new_password(client, world):
    lead = world.users["hi_lead"]
    page = client.get(reverse("account_reset_password"))
    assert "Reset your password" in page.content.decode()
    response = client.post(reverse("account_reset_password"), {"email": lead.email})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [lead.email]
    assert message.subject.endswith("Reset your password")
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", message.body)[1]

    # allauth moves the key into the session and redirects to a key-less form.
    form_url = client.get(link)["Location"]
    form = client.get(form_url)
    assert form.status_code == 200
    assert 'name="password1"' in form.content.decode()
    new_password = "a-new-long-passphrase-42"
    done = client.post(form_url, {"password1": new_password, "password2": new_password})
    assert done.status_code == 302
    assert done["Location"] == reverse("account_reset_password_from_key_done")

    lead.refresh_from_db()
    assert lead.check_password(new_password)
    assert AuditEvent.objects.filter(action="auth.password_reset", actor=lead).count() == 1
    assert sign_in(client, lead.email, PASSWORD).status_code == 200  # old password refused
    assert sign_in(client, lead.email, new_password).status_code == 302
    # The link works once.
    client.post(reverse("account_logout"))
    assert "This link has expired" in client.get(link, follow=True).content.decode()


def test_password_reset_unknown_email_sends_nothing(client, db):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.nhs.uk"})
    assert response.status_code == 302  # the same answer: no account enumeration
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "password/reset/key" not in body
    assert "signup" not in body
    assert "clinical director or an administrator" in body


@override_settings(ACCOUNT_EMAIL_VERIFICATION="mandatory")
def test_password_reset_link_lets_a_new_member_sign_in(transactional_db, client, world):
    # transactional_db: the set-password email is sent from transaction.on_commit in the request.
    client.force_login(world.users["clinical_director"])
    response = client.post(
        reverse("pcn_members", args=[world.pcn.code]),
        {"email": "new.starter@example.nhs.uk", "role": "pcn_member"},
    )
    assert response.status_code == 302
    client.post(reverse("account_logout"))
    assert not EmailAddress.objects.get(email="new.starter@example.nhs.uk").verified
    assert "new.starter@example.nhs.uk" in mail.outbox[-1].to
    assert mail.outbox[-1].subject.endswith("Set up your account")
    assert "You have been given access" in mail.outbox[-1].body
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)[1]
    form_url = client.get(link)["Location"]
    new_password = "a-new-long-passphrase-42"
    client.post(form_url, {"password1": new_password, "password2": new_password})

    # Following the emailed link proved the address: no second "confirm your email" step.
    assert EmailAddress.objects.get(email="new.starter@example.nhs.uk").verified
    response = sign_in(client, "new.starter@example.nhs.uk", new_password)
    assert response["Location"] == reverse("home")
    assert world.pcn.display_name in client.get(reverse("home")).content.decode()
    assert AuditEvent.objects.filter(action="auth.email_verified", after__by="password reset link").exists()


def test_audit_password_changed(client, world):
    lead = world.users["hi_lead"]
    sign_in(client, lead.email)
    new_password = "another-long-passphrase-7"
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new_password, "password2": new_password},
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.password_changed", actor=lead).count() == 1


# --- No self-sign-up ----------------------------------------------------------------------------


def test_sign_up_closed_points_to_clinical_director(client, db):
    response = client.get(reverse("account_signup"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "You cannot create an account yourself" in html
    assert "clinical director or an administrator" in html
    before = get_user_model().objects.count()
    client.post(
        reverse("account_signup"),
        {"email": "walk.in@example.com", "password1": "a-long-pass-1", "password2": "a-long-pass-1"},
    )
    assert get_user_model().objects.count() == before


# --- Two-factor authentication ------------------------------------------------------------------


@override_settings(MFA_REQUIRED_FOR_ICB_ROLES=True)
@pytest.mark.parametrize("role", ["icb_analyst", "commissioner"])
def test_mfa_required_for_icb_roles_when_setting_on(client, world, role):
    client.force_login(world.users[role])
    for url in (reverse("home"), reverse("icb_detail", args=[world.icb.code])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp") + "?required=1"
    # Their own account pages and sign-out stay reachable.
    assert client.get(reverse("mfa_index")).status_code == 200


@override_settings(MFA_REQUIRED_FOR_ICB_ROLES=True)
@pytest.mark.parametrize("role", ["clinical_director", "hi_lead", "pcn_member"])
def test_mfa_not_required_for_pcn_roles(client, world, role):
    client.force_login(world.users[role])
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("pcn_detail", args=[world.pcn.code])).status_code == 200


@override_settings(MFA_REQUIRED_FOR_ICB_ROLES=False)
def test_mfa_not_required_for_icb_roles_when_setting_off(client, world):
    client.force_login(world.users["icb_analyst"])
    assert client.get(reverse("home")).status_code == 200


@override_settings(MFA_REQUIRED_FOR_ICB_ROLES=True)
def test_mfa_analyst_gets_through_after_activating_totp(client, world):
    analyst = world.users["icb_analyst"]
    assert sign_in(client, analyst.email).status_code == 302
    home = client.get(reverse("home"))
    assert home["Location"] == reverse("mfa_activate_totp") + "?required=1"

    page = open_after_password_confirmation(client, home["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Two-factor authentication is required" in html
    assert re.search(r'<img class="portal-totp-qr" src="data:image/svg\+xml;base64,[^"]+" alt="QR code', html)
    secret = re.search(r'<code class="[^"]*" id="authenticator_secret">([A-Z2-7=]+)</code>', html)[1]

    not_the_code = "000000" if current_totp_code(secret) != "000000" else "111111"
    wrong = client.post(reverse("mfa_activate_totp"), {"code": not_the_code})
    assert wrong.status_code == 200
    assert '<a href="#id_code">Incorrect code.</a>' in wrong.content.decode()

    response = client.post(reverse("mfa_activate_totp"), {"code": current_totp_code(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=analyst, type=Authenticator.Type.TOTP).exists()
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("icb_detail", args=[world.icb.code])).status_code == 200

    # Next time, the password alone is not enough: the second step asks for a code.
    client.post(reverse("account_logout"))
    response = sign_in(client, analyst.email)
    assert response["Location"] == reverse("mfa_authenticate")
    assert signed_in_user_id(client) is None
    recovery = Authenticator.objects.get(user=analyst, type=Authenticator.Type.RECOVERY_CODES)
    response = client.post(reverse("mfa_authenticate"), {"code": recovery.wrap().get_unused_codes()[0]})
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(analyst.pk)
    assert client.get(reverse("home")).status_code == 200


# --- Audit trail --------------------------------------------------------------------------------


def test_audit_sign_in_failure_and_sign_out_recorded(client, world):
    lead = world.users["hi_lead"]
    sign_in(client, lead.email, "wrong-password-1")
    failed = AuditEvent.objects.get(action="auth.sign_in_failed")
    assert failed.actor is None
    assert failed.object_id == str(lead.pk)
    assert failed.after == {"email": lead.email}
    assert "wrong-password" not in str(failed.after) + failed.object_label

    sign_in(client, lead.email)
    signed_in = AuditEvent.objects.get(action="auth.signed_in")
    assert signed_in.actor == lead
    assert signed_in.ip_address == "127.0.0.1"

    client.post(reverse("account_logout"))
    signed_out = AuditEvent.objects.get(action="auth.signed_out")
    assert signed_out.actor == lead
    assert signed_in_user_id(client) is None


def test_audit_sign_in_failed_for_unknown_email_recorded(client, db):
    sign_in(client, "stranger@example.com", "wrong-password-1")
    event = AuditEvent.objects.get(action="auth.sign_in_failed")
    assert event.object_id == ""
    assert event.object_label == "stranger@example.com"


def test_audit_authenticators_added_and_removed(client, db, django_capture_on_commit_callbacks):
    # allauth sends its authenticator signals from transaction.on_commit.
    user = UserFactory()
    assert sign_in(client, user.email).status_code == 302
    page = open_after_password_confirmation(client, reverse("mfa_activate_totp")).content.decode()
    secret = re.search(r'id="authenticator_secret">([A-Z2-7=]+)<', page)[1]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_activate_totp"), {"code": current_totp_code(secret)})
    assert response.status_code == 302
    added = AuditEvent.objects.filter(action="mfa.authenticator_added", actor=user)
    assert sorted(e.after["type"] for e in added) == ["recovery_codes", "totp"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302
    removed = AuditEvent.objects.filter(action="mfa.authenticator_removed", actor=user)
    assert sorted(e.after["type"] for e in removed) == ["recovery_codes", "totp"]
