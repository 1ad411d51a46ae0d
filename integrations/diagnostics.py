"""What staff see of one connection when something goes wrong with it (DESIGN.md section 5).

A read-only summary: configuration, token metadata, recent runs, outbound calls and audit lines.
It must never show a secret. Values under the provider's declared ``redact_keys`` (and the
defaults every provider has, in case one forgets them) are replaced at any depth; every string
left is then scrubbed of the credential's own secret values and of secret-looking pairs, because
a checkpoint stores a whole next request and a next URL may carry a key in its query string.
Token values never enter the summary: only metadata about them does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .models import ApiCall, AuditEvent, Connection, Credential, SyncRun
from .models.credentials import SECRET_FIELDS
from .providers.base import Provider
from .providers.retired import is_retired, provider_or_retired
from .redaction import redact_mapping, redact_text
from .tokens import secret_values

RECENT_RUNS = 10
RECENT_CALLS = 20
RECENT_AUDIT = 20
RUN_FIELDS = ("queued_at", "trigger", "mode", "status", "pages", "fetched", "created", "updated",
              "deleted", "error_code", "error_message")
CALL_FIELDS = ("at", "method", "host", "path", "status_code", "duration_ms", "retries", "error")
AUDIT_FIELDS = ("at", "action", "actor", "message")


@dataclass(frozen=True)
class TokenMetadata:
    """What may be said about a credential: never its values."""

    readable: bool
    token_type: str
    expires_at: Any
    refreshed_at: Any
    fingerprint: str
    has_access_token: bool
    has_refresh_token: bool
    has_other_secret: bool
    refresh_generation: int


@dataclass(frozen=True)
class Diagnostics:
    connection: Connection
    provider: Provider
    retired: bool
    api_base_url: str
    config: str  # redacted, pretty JSON
    stream_settings: str
    stream_states: list[dict[str, Any]]
    token: TokenMetadata | None
    last_error: str
    runs: list[dict[str, Any]]
    api_calls: list[dict[str, Any]]
    audit_events: list[dict[str, Any]]


def connection_diagnostics(*, connection: Connection) -> Diagnostics:
    provider = provider_or_retired(connection.provider)
    credential = Credential.objects.filter(connection_id=connection.pk).first()
    keys = provider.secret_keys()
    secrets = _secret_strings(credential)

    def clean(data: Any) -> str:
        # Wrapped so JSON whose top level is a list or a scalar is redacted too.
        return _pretty(_scrub(redact_mapping({"": data}, keys)[""], secrets))

    return Diagnostics(
        connection=connection,
        provider=provider,
        retired=is_retired(provider),
        api_base_url=redact_text(provider.get_api_base_url(connection.config or {}), secrets),
        config=clean(connection.config),
        stream_settings=clean(connection.stream_settings),
        stream_states=[
            {"stream": state.stream, "cursor": clean(state.cursor), "updated_at": state.updated_at}
            for state in connection.stream_states.order_by("stream")
        ],
        token=_token_metadata(credential),
        last_error=redact_text(connection.last_error, secrets),
        # Rows as plain dicts with every string scrubbed: these texts were redacted when they
        # were written, and are scrubbed again in case a provider's secret slipped through
        # (a bot token sits in the URL path).
        runs=_rows(SyncRun.objects.filter(connection=connection).order_by("-queued_at", "-pk"),
                   RUN_FIELDS, RECENT_RUNS, secrets),
        api_calls=_rows(ApiCall.objects.filter(connection=connection).order_by("-at", "-pk"),
                        CALL_FIELDS, RECENT_CALLS, secrets),
        audit_events=_rows(
            AuditEvent.objects.filter(connection_ref=connection.pk).order_by("-at", "-pk"),
            AUDIT_FIELDS, RECENT_AUDIT, secrets),
    )


def _secret_strings(credential: Credential | None) -> list[str]:
    """Every secret value the credential holds, to be scrubbed from whatever is shown."""
    if credential is None or not credential.is_readable:
        return []  # an unreadable secret loads as "" and there is nothing to match
    values = [getattr(credential, name) for name in SECRET_FIELDS]
    values += secret_values(credential).values()
    return [v for v in values if v]


def _scrub(value: Any, secrets: Iterable[str]) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value


def _rows(queryset, fields: tuple[str, ...], limit: int, secrets: list[str]) -> list[dict]:
    return [_scrub(row, secrets) for row in queryset.values(*fields)[:limit]]


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _token_metadata(credential: Credential | None) -> TokenMetadata | None:
    if credential is None:
        return None
    return TokenMetadata(
        readable=credential.is_readable,
        token_type=credential.token_type,
        expires_at=credential.expires_at,
        refreshed_at=credential.refreshed_at,
        fingerprint=credential.fingerprint,
        has_access_token=bool(credential.access_token),
        has_refresh_token=credential.has_refresh_token,
        has_other_secret=bool(credential.secret),
        refresh_generation=credential.refresh_generation,
    )
