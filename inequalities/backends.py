from inequalities import policy


class PolicyPermissionBackend:
    """Django model permissions (used by the admin) follow the access policy: an administrator
    may do everything there, nobody else anything. Authentication is left to other backends."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm, obj=None):
        return policy.is_administrator(user_obj)

    def has_module_perms(self, user_obj, app_label):
        return policy.is_administrator(user_obj)
