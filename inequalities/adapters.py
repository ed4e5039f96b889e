from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ValidationError

from inequalities import audit


class PortalAccountAdapter(DefaultAccountAdapter):
    """No self-sign-up: access comes from memberships an administrator or a PCN's clinical
    director grants (new people get a set-password email)."""

    def is_open_for_signup(self, request):
        return False

    def pre_authenticate(self, request, **credentials):
        """allauth's failed-sign-in rate limit. A refused attempt never reaches authentication
        (so no `user_login_failed` signal): record it here."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            tried = str(credentials.get("email") or credentials.get("username") or "")[:254]
            audit.record(action="auth.sign_in_rate_limited", label=tried, after={"email": tried})
            raise
