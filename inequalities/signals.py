"""Sign-in, sign-out and two-factor changes on the audit trail.

Django's auth signals (sent by allauth's login and logout flows, and by `Client.force_login` in
tests) and allauth.mfa's authenticator signals each write one audit event. These are security
events about a person, not about an organisation, so they carry no PCN or ICB scope: only
administrators see them in the trail.

A failed sign-in records the email that was tried (never the password) and, when that email
belongs to an account, the account as the object, so repeated attempts on one account show up.
Attempts refused by the rate limit never reach authentication and are not recorded here.
"""

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
