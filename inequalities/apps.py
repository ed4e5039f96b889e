from django.apps import AppConfig


class InequalitiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "inequalities"

    def ready(self):
        # Sign-in, sign-out and two-factor changes write audit events.
        from inequalities import principal, signals  # noqa: F401

        # Cached signed-in users are rebuilt when they or their memberships change.
        principal.connect()
