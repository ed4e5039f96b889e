from allauth.account.adapter import DefaultAccountAdapter


class PortalAccountAdapter(DefaultAccountAdapter):
    """No self-sign-up: access comes from memberships an administrator or a PCN's clinical
    director grants (new people get a set-password email)."""

    def is_open_for_signup(self, request):
        return False
