"""System checks.

``check --deploy`` refuses production without explicit Fernet keys or with a key that is
published (demo, tests); ``check --database default`` (and ``migrate``, which runs the database
checks) reports credentials no configured key can decrypt.
"""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

# Keys printed in this repository (the demo script, the test settings). Anyone can read them,
# so a production deployment that uses one has no encryption at all.
PUBLISHED_FERNET_KEYS = frozenset({
    "demo-only-fernet-key-do-not-use-in-production",
    "test-fernet-key-newest",
    "test-fernet-key-older",
})
PUBLISHED_SECRET_KEYS = frozenset({
    "demo-only-secret-key-do-not-use-in-production",
    "test-secret-key-not-for-production",
})
# The credential scan decrypts rows; it reads at most this many (the newest first) so that
# ``check`` stays quick on a large table. rotate_encryption_keys reads them all.
CREDENTIAL_SCAN_LIMIT = 2000
UNREADABLE_IDS_SHOWN = 20


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
def no_published_keys(app_configs, **kwargs):
    errors = []
    published = [k for k in settings.THINKALIKE_FERNET_KEYS if k in PUBLISHED_FERNET_KEYS]
    if published:
        errors.append(Error(
            "THINKALIKE_FERNET_KEYS contains a key published with this project (the demo's or "
            "the tests'): anyone can decrypt the stored secrets.",
            hint="Generate a key (python -c 'from cryptography.fernet import Fernet; "
                 "print(Fernet.generate_key().decode())'), put it first, run "
                 "rotate_encryption_keys, then remove the published key.",
            id="thinkalike.E003",
        ))
    if settings.SECRET_KEY in PUBLISHED_SECRET_KEYS:
        errors.append(Error(
            "SECRET_KEY is the one published with this project (the demo's or the tests').",
            hint="Set SECRET_KEY to a long random value of your own.",
            id="thinkalike.E004",
        ))
    return errors


@register(Tags.security, deploy=True)
def sandbox_off_in_production(app_configs, **kwargs):
    if settings.THINKALIKE_SANDBOX and not settings.DEBUG:
        return [Warning("THINKALIKE_SANDBOX is on: the demo OAuth server is reachable.",
                        id="thinkalike.W001")]
    return []


@register(Tags.database)
def credentials_decryptable(app_configs, databases=None, **kwargs):
    """Warn about credentials no configured key decrypts (a key removed too early).

    A database check: Django runs it only for ``check --database <alias>`` and ``migrate``, so
    plain ``check`` and ``runserver`` never query. A Warning, not an Error, because an Error
    would stop ``migrate``, and the site copes: those people are asked to reconnect.
    """
    if not databases or "default" not in databases:
        return []
    from .models import Credential  # models are not ready when this module is imported

    try:
        rows = Credential.objects.order_by("-updated_at")[:CREDENTIAL_SCAN_LIMIT]
        unreadable = [c.connection_id for c in rows if not c.is_readable]
    except DatabaseError:  # not migrated yet: migrate runs the checks before migrating
        return []
    if not unreadable:
        return []
    shown = ", ".join(str(pk) for pk in sorted(unreadable)[:UNREADABLE_IDS_SHOWN])
    more = "" if len(unreadable) <= UNREADABLE_IDS_SHOWN else ", ..."
    return [Warning(
        f"{len(unreadable)} stored credential(s) cannot be decrypted with any key in "
        f"THINKALIKE_FERNET_KEYS (connection ids: {shown}{more}).",
        hint="Put the key they were written with back in THINKALIKE_FERNET_KEYS and run "
             "rotate_encryption_keys; otherwise those people are asked to reconnect.",
        id="thinkalike.W002",
    )]
