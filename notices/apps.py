from django.apps import AppConfig


class NoticesConfig(AppConfig):
    """In-app notices and e-mails to a person, e.g. when a connection starts failing."""

    name = "notices"
    verbose_name = "Notices"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  # connects the health_changed receiver
