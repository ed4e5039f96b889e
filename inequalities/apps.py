from django.apps import AppConfig


class InequalitiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "inequalities"
