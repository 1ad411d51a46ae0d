"""The engine's error family. Every failure ends in one of two outcomes.

* ``ReauthRequired``: the person must reconnect (token revoked, refresh refused).
* ``TryLater``: a temporary problem (provider down, rate limited, malformed page); the next
  run tries again and nothing stored is lost.

Messages are written for people and never contain a secret: they are built from status codes
and short provider error codes, and pass through ``redaction.redact`` before being stored.
"""


class IntegrationError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class ReauthRequired(IntegrationError):
    code = "reauth_required"


class CredentialRefused(ReauthRequired):
    """The provider said why it refused the credential (a permission a key lacks): the message
    is worth showing as it is, at connect too."""


class TryLater(IntegrationError):
    code = "try_later"


class RenewingElsewhere(TryLater):
    """Another worker holds the token renewal (or its renewal just failed): this worker did
    nothing wrong and asked nothing. A periodic test that meets it is not charged: it is
    tested again on the next tick."""


class ProviderUnavailable(TryLater):
    code = "provider_unavailable"


class ProviderTimeout(ProviderUnavailable):
    """The provider did not answer (or finish its answer) in time."""


class RateLimited(TryLater):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderDataError(TryLater):
    """The provider answered, but not with what its API promises (malformed or error body)."""

    code = "bad_provider_data"


class CursorRejected(ProviderDataError):
    """The provider no longer accepts the stream's cursor (410 Gone): sync everything again."""

    code = "cursor_rejected"


class LeaseLost(TryLater):
    """Another run took over this connection's claim; this run must stop writing."""

    code = "lease_lost"


class ConnectionTestFailed(IntegrationError):
    """A credential or username was refused when tested before saving."""

    code = "test_failed"


class SyncInProgress(IntegrationError):
    """A sync holds the connection: deleting its data now would race the run's writes."""

    code = "sync_running"


class ProviderNotAvailable(IntegrationError):
    """The provider is registered but not configured here (no client id, sandbox off)."""

    code = "provider_not_available"


class ActionRejected(IntegrationError):
    """An action was refused before anything was sent: bad input, a key reused for another
    action, a connection that is not active. ``errors`` maps a field name to its message."""

    code = "action_rejected"

    def __init__(self, message: str, *, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = dict(errors or {})


class IdempotencyKeyReused(ActionRejected):
    """The key was already used for another action, or for this one with other input: the
    first run stands and nothing is sent (the API answers 409 idempotency_key_reused)."""

    code = "idempotency_key_reused"
