"""Loading a credential to use it: one place decides what an unreadable secret means.

A credential that no configured Fernet key decrypts (a key rotated away before
``rotate_encryption_keys`` ran, a database restored under other keys) is a state, not a crash:
the person must reconnect, and can still disconnect. Everything that is about to *use* the
secrets (sync, test, refresh, revoke, the HTTP client) loads them through
``credential_for_use``; pages ask ``credential_unreadable``.
"""

from __future__ import annotations

from .exceptions import ReauthRequired
from .models import Connection, Credential

# Shown to the person (page, run, connection's last error) and to staff; tests import it.
CREDENTIAL_UNREADABLE = (
    "The stored sign-in for this service can no longer be read (the site's encryption key "
    "changed). Reconnect to continue; you can also disconnect."
)
CREDENTIAL_UNREADABLE_CODE = "credential_unreadable"


def credential_for_use(*, connection: Connection) -> Credential | None:
    """The connection's credential (None when it has none), readable or ReauthRequired."""
    credential = Credential.objects.filter(connection_id=connection.pk).first()
    if credential is not None and not credential.is_readable:
        raise ReauthRequired(CREDENTIAL_UNREADABLE, code=CREDENTIAL_UNREADABLE_CODE)
    return credential


def credential_unreadable(connection: Connection) -> bool:
    """True when the connection has a credential that cannot be decrypted.

    Uses the credential already loaded with the connection (``select_related("credential")``)
    so list pages stay at a constant number of queries.
    """
    try:
        credential = connection.credential
    except Credential.DoesNotExist:
        return False
    return not credential.is_readable
