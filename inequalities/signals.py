"""Sign-in, sign-out and two-factor changes on the audit trail.

Django's auth signals (sent by allauth's login and logout flows, and by `Client.force_login` in
tests) and allauth.mfa's authenticator signals each write one audit event. These are security
events about a person, not about an organisation, so they carry no PCN or ICB scope: only
administrators see them in the trail.

A failed sign-in records the email that was tried (never the password) and, when that email
belongs to an account, the account as the object, so repeated attempts on one account show up.
Attempts refused by the rate limit never reach authentication: the account adapter
(`inequalities.adapters`) records those.

Password and email-address changes are recorded too. Following a password reset link proves the
person controls the address it was sent to, so when that is the account's only address it is
marked verified: a new member whose clinical director added them sets a password from the
emailed link and can then sign in, without a second "confirm your email" round trip.
"""

from allauth.account.models import EmailAddress
from allauth.account.signals import (
    email_added,
    email_changed,
    email_confirmed,
    email_removed,
    password_changed,
    password_reset,
    password_set,
)
from allauth.mfa.signals import (
    authentication_failed,
    authenticator_added,
    authenticator_removed,
    authenticator_reset,
)
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from inequalities import audit


def _user_label(user):
    return user.email or user.get_username()


@receiver(user_logged_in, dispatch_uid="audit_signed_in")
def audit_signed_in(sender, request, user, **kwargs):
    audit.record(action="auth.signed_in", by=user, obj=user, label=_user_label(user))


@receiver(user_logged_out, dispatch_uid="audit_signed_out")
def audit_signed_out(sender, request, user, **kwargs):
    if user is None:  # signing out when not signed in
        return
    audit.record(action="auth.signed_out", by=user, obj=user, label=_user_label(user))


@receiver(user_login_failed, dispatch_uid="audit_sign_in_failed")
def audit_sign_in_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked anything that looks like a password in `credentials`.
    tried = str(credentials.get("email") or credentials.get("username") or "")[:254]
    account = get_user_model().objects.filter(email__iexact=tried).first() if tried else None
    audit.record(
        action="auth.sign_in_failed",
        obj=account,
        label=tried or "(no email given)",
        after={"email": tried},
    )


@receiver(password_set, dispatch_uid="audit_password_set")
def audit_password_set(sender, request, user, **kwargs):
    audit.record(action="auth.password_set", by=user, obj=user, label=_user_label(user))


@receiver(password_changed, dispatch_uid="audit_password_changed")
def audit_password_changed(sender, request, user, **kwargs):
    audit.record(action="auth.password_changed", by=user, obj=user, label=_user_label(user))


@receiver(password_reset, dispatch_uid="audit_password_reset")
def audit_password_reset(sender, request, user, **kwargs):
    audit.record(action="auth.password_reset", by=user, obj=user, label=_user_label(user))
    addresses = list(EmailAddress.objects.filter(user=user))
    if len(addresses) == 1 and not addresses[0].verified:
        address = addresses[0]
        address.verified = True
        address.save(update_fields=["verified"])
        audit.record(
            action="auth.email_verified",
            by=user,
            obj=user,
            label=address.email,
            after={"email": address.email, "by": "password reset link"},
        )


@receiver(email_confirmed, dispatch_uid="audit_email_confirmed")
def audit_email_confirmed(sender, request, email_address, **kwargs):
    user = email_address.user
    audit.record(
        action="auth.email_verified",
        by=user,
        obj=user,
        label=email_address.email,
        after={"email": email_address.email, "by": "confirmation link"},
    )


@receiver(email_added, dispatch_uid="audit_email_added")
def audit_email_added(sender, request, user, email_address, **kwargs):
    audit.record(
        action="auth.email_added",
        by=user,
        obj=user,
        label=email_address.email,
        after={"email": email_address.email},
    )


@receiver(email_removed, dispatch_uid="audit_email_removed")
def audit_email_removed(sender, request, user, email_address, **kwargs):
    audit.record(
        action="auth.email_removed",
        by=user,
        obj=user,
        label=email_address.email,
        before={"email": email_address.email},
    )


@receiver(email_changed, dispatch_uid="audit_email_changed")
def audit_email_changed(sender, request, user, from_email_address, to_email_address, **kwargs):
    audit.record(
        action="auth.primary_email_changed",
        by=user,
        obj=user,
        label=to_email_address.email,
        before={"email": from_email_address.email if from_email_address else None},
        after={"email": to_email_address.email},
    )


def _authenticator_event(action, user, authenticator):
    # The object is the person: a removed authenticator no longer has a primary key.
    audit.record(
        action=action,
        by=user,
        obj=user,
        label=f"{authenticator.get_type_display()} for {_user_label(user)}",
        after={"type": authenticator.type},
    )


@receiver(authenticator_added, dispatch_uid="audit_authenticator_added")
def audit_authenticator_added(sender, request, user, authenticator, **kwargs):
    _authenticator_event("mfa.authenticator_added", user, authenticator)


@receiver(authenticator_removed, dispatch_uid="audit_authenticator_removed")
def audit_authenticator_removed(sender, request, user, authenticator, **kwargs):
    _authenticator_event("mfa.authenticator_removed", user, authenticator)


@receiver(authenticator_reset, dispatch_uid="audit_authenticator_reset")
def audit_authenticator_reset(sender, request, user, authenticator, **kwargs):
    _authenticator_event("mfa.authenticator_reset", user, authenticator)


@receiver(authentication_failed, dispatch_uid="audit_mfa_code_rejected")
def audit_mfa_code_rejected(sender, request, user, authenticator=None, **kwargs):
    audit.record(
        action="mfa.code_rejected",
        obj=user,
        label=_user_label(user),
        after={"type": authenticator.type if authenticator else None},
    )
