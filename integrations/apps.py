from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Connected services"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  # registers the system checks
        from .allauth import checks as allauth_checks  # noqa: F401  # orphan social accounts
        from .allauth import receivers  # noqa: F401  # connects the allauth signal receivers
