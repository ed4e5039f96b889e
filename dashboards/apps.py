from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dashboards"

    def ready(self):
        from dashboards import receivers  # noqa: F401 - connects the refresh triggers
