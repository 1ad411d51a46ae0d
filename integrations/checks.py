"""System checks: ``manage.py check --deploy`` refuses to pass without explicit Fernet keys."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def fernet_keys_configured(app_configs, **kwargs):
    if not settings.THINKALIKE_FERNET_KEYS:
        return [Error(
            "THINKALIKE_FERNET_KEYS is not set: secrets would be encrypted with a key derived "
            "from SECRET_KEY.",
            hint="Set THINKALIKE_FERNET_KEYS to one or more comma-separated keys, newest first.",
            id="thinkalike.E001",
        )]
    if any(key == settings.SECRET_KEY for key in settings.THINKALIKE_FERNET_KEYS):
        return [Error("THINKALIKE_FERNET_KEYS must differ from SECRET_KEY.",
                      id="thinkalike.E002")]
    return []


@register(Tags.security, deploy=True)
def sandbox_off_in_production(app_configs, **kwargs):
    if settings.THINKALIKE_SANDBOX and not settings.DEBUG:
        return [Warning("THINKALIKE_SANDBOX is on: the demo OAuth server is reachable.",
                        id="thinkalike.W001")]
    return []
