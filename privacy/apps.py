from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """What we hold about a person: the Your data page, the export, deleting it all."""

    name = "privacy"
    verbose_name = "Your data"
    default_auto_field = "django.db.models.BigAutoField"
