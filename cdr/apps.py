from django.apps import AppConfig


class CdrConfig(AppConfig):
    name = "cdr"
    verbose_name = "Call detail records"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cdr import checks  # noqa: F401  (registers system checks)
