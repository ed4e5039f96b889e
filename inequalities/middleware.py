"""Require TOTP for ICB analysts and commissioners when MFA_REQUIRED_FOR_ICB_ROLES is on.

A signed-in ICB user without an authenticator is sent to set one up; sign-out, the account and MFA
pages and static files stay reachable so they can.
"""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from inequalities import policy

ALLOWED_PREFIXES = ("/accounts/", "/static/", "/healthz")


class RequireMFAMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.MFA_REQUIRED_FOR_ICB_ROLES
            and request.user.is_authenticated
            and not request.path.startswith(ALLOWED_PREFIXES)
            and policy.has_icb_role(request.user)
            and not _has_totp(request.user)
        ):
            return redirect(reverse("mfa_activate_totp") + "?required=1")
        return self.get_response(request)


def _has_totp(user):
    from allauth.mfa.models import Authenticator

    cached = getattr(user, "_has_totp", None)  # loaded with the user (inequalities.principal)
    if cached is not None:
        return cached
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
