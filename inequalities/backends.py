from allauth.account.auth_backends import AuthenticationBackend
from django.contrib.auth.backends import ModelBackend

from inequalities import policy, principal


class CachedUserMixin:
    """Load the signed-in user of each request through `inequalities.principal`: from the cache,
    with their memberships attached, instead of three queries per request."""

    def get_user(self, user_id):
        user = principal.user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class UsernameBackend(CachedUserMixin, ModelBackend):
    """Django's username and password sign-in (the admin, management commands)."""


class AccountBackend(CachedUserMixin, AuthenticationBackend):
    """allauth's email and password sign-in (the portal's sign-in page)."""


class PolicyPermissionBackend:
    """Django model permissions (used by the admin) follow the access policy: an administrator
    may do everything there, nobody else anything. Authentication is left to other backends."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm, obj=None):
        return policy.is_administrator(user_obj)

    def has_module_perms(self, user_obj, app_label):
        return policy.is_administrator(user_obj)
