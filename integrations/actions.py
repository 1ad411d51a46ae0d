"""Writes to providers: ``connection_action_perform``, the one service every interface calls.

The invariant: at most one upstream write per (connection, idempotency key). The ActionRun row
is claimed in its own short transaction before anything is sent; a second submission with the
same key finds that row and returns it (the first's result, or the first still running)
instead of writing again. The write is sent outside any transaction, through the provider's
ApiClient (auth, refresh, rate budget, ApiCall rows), and a non-idempotent write is never
retried automatically: a lost answer may mean it happened. Consent purposes govern reading,
not these writes (DESIGN.md section 12).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from .credentials import credential_for_use
from .exceptions import (
    ActionRejected,
    IdempotencyKeyReused,
    IntegrationError,
    RateLimited,
    ReauthRequired,
    TryLater,
)
from .http import ApiClient
from .models import ActionRun, AuditEvent, Connection, Credential
from .providers.base import Action, ActionResult, Provider
from .providers.registry import UnknownProvider, get_provider
from .providers.retired import provider_or_retired
from .reauth import connection_mark_reauth
from .redaction import REDACTED, redact_text
from .tokens import secret_values
from .txguard import NetworkInTransaction, check_no_transaction

logger = logging.getLogger(__name__)

# Messages people see; tests import them.
NOT_INSTALLED = "{slug} is not offered here any more."
UNKNOWN_ACTION = "{name} has no action called “{action}”."
NOT_ACTIVE = "{name} needs reconnecting before it can do this."
KEY_INVALID = "This form has expired; reload the page and try again."
KEY_REUSED = "This form was already used for another action; reload the page and try again."
KEY_REUSED_OTHER_INPUT = (
    "This form was already sent with other input; reload the page and try again."
)
FIELD_REQUIRED = "{label} is required."
FIELD_TOO_LONG = "{label} can be at most {max_length} characters."
FIELD_INVALID = "{label} is not valid."
ACTION_CRASHED = "Something went wrong on our side while doing “{label}”."
# Added to a failed non-idempotent write whose request may have reached the provider.
MAY_HAVE_HAPPENED = "{name} may have done it anyway: check there before trying again."
STOPPED_BEFORE_SENDING = "It stopped before anything was sent; you can try again."
STOPPED_WHILE_SENDING = (
    "It stopped while being sent, so whether {name} did it is unknown: check there before "
    "trying again."
)

KEY_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
SUMMARY_MAX_LENGTH = 200


class ActionClient(ApiClient):
    """An ApiClient whose every request carries the action's declared idempotency, whatever
    ``perform`` passes: a provider cannot forget the flag, nor ask to retry a write its
    declaration says must not be retried."""

    def __init__(self, provider: Provider, *, action_idempotent: bool, **kwargs: Any) -> None:
        super().__init__(provider, **kwargs)
        self.action_idempotent = action_idempotent

    def request(self, method: str, url: str, *, idempotent: bool | None = None,
                **kwargs: Any):
        return super().request(method, url, idempotent=self.action_idempotent, **kwargs)


def action_input_clean(action: Action, data: Mapping[str, Any]) -> dict[str, str]:
    """The declared fields of ``data``, checked; anything undeclared is dropped.

    Raises ActionRejected with one message per bad field (``errors``) and all of them joined.
    """
    clean: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field in action.fields:
        value = data.get(field.name, "")
        if not isinstance(value, str):
            errors[field.name] = FIELD_INVALID.format(label=field.label)
            continue
        # A message's own line breaks and indentation are its content; a one-line value's
        # surrounding spaces are a slip of the keyboard.
        value = value if field.multiline else value.strip()
        if not value.strip():
            if field.required:
                errors[field.name] = FIELD_REQUIRED.format(label=field.label)
            clean[field.name] = ""
        elif len(value) > field.max_length:
            errors[field.name] = FIELD_TOO_LONG.format(label=field.label,
                                                       max_length=field.max_length)
        elif field.pattern and not re.fullmatch(field.pattern, value):
            errors[field.name] = FIELD_INVALID.format(label=field.label)
        else:
            clean[field.name] = value
    if errors:
        raise ActionRejected(" ".join(errors.values()), errors=errors)
    return clean


def action_input_summary(action: Action, clean: Mapping[str, str]) -> dict[str, str]:
    """What is stored of the input: secret fields replaced, secret-looking text redacted, long
    values cut (redacted first, so a cut never leaves half a secret unrecognised)."""
    summary = {}
    for field in action.fields:
        value = clean.get(field.name, "")
        if field.secret and value:
            summary[field.name] = REDACTED
        else:
            value = redact_text(value)
            cut = len(value) > SUMMARY_MAX_LENGTH
            summary[field.name] = value[:SUMMARY_MAX_LENGTH] + ("…" if cut else "")
    return summary


def action_input_hash(action: Action, clean: Mapping[str, str]) -> str:
    """A digest of the checked input, to tell a replay of a key from a reuse with other input.

    Keyed with the site's secret (HMAC-SHA256): the input may hold a secret field, and a bare
    digest of it would let a guess be checked against the stored row.
    """
    canonical = json.dumps({"action": action.name, "input": dict(clean)}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False)
    return salted_hmac("integrations.actions.input_hash", canonical,
                       algorithm="sha256").hexdigest()


def connection_action_perform(
    *, connection: Connection, action: str, data: Mapping[str, Any], idempotency_key: str,
    actor: str = "",
) -> ActionRun:
    """Do ``action`` at the provider once for this ``idempotency_key`` and return its ActionRun.

    A key already used with the same input returns that run, finished or not, and sends
    nothing; with other input (or for another action) it raises IdempotencyKeyReused. Raises
    ActionRejected (nothing recorded, nothing sent) for an unknown action, a bad key, bad
    input or a connection that is not active. A failure at the provider does not raise: the
    run comes back failed with a redacted message; ReauthRequired also flags the connection.
    """
    # The claim below must commit on its own before the write is sent; inside a caller's
    # transaction it would not, and the write would hold that transaction open.
    check_no_transaction(f"action {action!r}")
    provider, declared = _declared(connection, action)
    if not isinstance(idempotency_key, str) or not KEY_PATTERN.fullmatch(idempotency_key):
        raise ActionRejected(KEY_INVALID)
    existing = ActionRun.objects.filter(connection=connection,
                                        idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replay(existing, declared, data)
    if connection.status != Connection.Status.ACTIVE:
        raise ActionRejected(NOT_ACTIVE.format(name=provider.name))
    clean = action_input_clean(declared, data)
    try:
        with transaction.atomic():
            run = ActionRun.objects.create(
                connection=connection, action=declared.name, idempotency_key=idempotency_key,
                input_summary=action_input_summary(declared, clean),
                input_hash=action_input_hash(declared, clean), actor=actor[:100],
            )
    except IntegrityError:  # the same key, submitted at the same moment: that one writes
        return _replay(ActionRun.objects.get(connection=connection,
                                              idempotency_key=idempotency_key), declared, data)
    return _send(run, connection, provider, declared, clean)


def _declared(connection: Connection, action: str) -> tuple[Provider, Action]:
    try:
        provider = get_provider(connection.provider)
    except UnknownProvider:
        raise ActionRejected(NOT_INSTALLED.format(slug=connection.provider)) from None
    try:
        return provider, provider.get_action(action)
    except KeyError:
        raise ActionRejected(UNKNOWN_ACTION.format(name=provider.name, action=action)) from None


def _replay(run: ActionRun, declared: Action, data: Mapping[str, Any]) -> ActionRun:
    """The run this key already made, when asked again for the same action and input."""
    if run.action != declared.name:
        raise IdempotencyKeyReused(KEY_REUSED)
    if not run.input_hash:  # recorded before input_hash existed: nothing to compare with
        return run
    try:
        clean = action_input_clean(declared, data)
    except ActionRejected:  # the first run's input was valid, so this is other input
        raise IdempotencyKeyReused(KEY_REUSED_OTHER_INPUT) from None
    if not constant_time_compare(run.input_hash, action_input_hash(declared, clean)):
        raise IdempotencyKeyReused(KEY_REUSED_OTHER_INPUT)
    return run


def _send(run: ActionRun, connection: Connection, provider: Provider, declared: Action,
          clean: Mapping[str, str]) -> ActionRun:
    secrets = [clean[f.name] for f in declared.fields if f.secret and clean.get(f.name)]
    try:
        credential = credential_for_use(connection=connection)  # unreadable: reconnect
        secrets += _credential_secrets(credential)
        client = ActionClient(provider, connection=connection,
                              secrets=secret_values(credential),
                              action_idempotent=declared.idempotent)
        # From here the write may reach the provider: a run left "running" by a crash is one
        # whose outcome is unknown, a "pending" one sent nothing.
        ActionRun.objects.filter(pk=run.pk).update(status=ActionRun.Status.RUNNING)
        run.status = ActionRun.Status.RUNNING
        try:
            result = declared.perform(client, clean)
        finally:
            client.close()
        if not isinstance(result, ActionResult):
            raise TypeError(f"{declared.name} returned {type(result).__name__}")
    except IntegrationError as exc:
        return _fail(run, connection, provider, declared, exc, secrets)
    except Exception as exc:  # a bug in perform must still finish the run
        logger.exception("action run %s (%s of connection %s) crashed", run.pk, declared.name,
                         connection.pk)
        _fail(run, connection, provider, declared,
              IntegrationError(ACTION_CRASHED.format(label=declared.label), code="internal"),
              secrets)
        if isinstance(exc, NetworkInTransaction):  # our bug, never the provider's: loud
            raise
        return run
    return _finish(run, declared, status=ActionRun.Status.SUCCEEDED,
                   external_id=redact_text(result.external_id, secrets)[:255],
                   summary=redact_text(result.summary, secrets)[:500])


def _credential_secrets(credential: Credential | None) -> list[str]:
    if credential is None:
        return []
    return [credential.access_token, credential.refresh_token,
            *secret_values(credential).values()]


def _fail(run: ActionRun, connection: Connection, provider: Provider, declared: Action,
          exc: IntegrationError, secrets: list[str]) -> ActionRun:
    message = redact_text(exc.message, secrets)
    uncertain = (run.status == ActionRun.Status.RUNNING and not declared.idempotent
                 and isinstance(exc, TryLater) and not isinstance(exc, RateLimited))
    if uncertain:  # a 5xx or a lost answer: the write may still have happened
        message = f"{message} {MAY_HAVE_HAPPENED.format(name=provider.name)}"
    with transaction.atomic():
        _finish(run, declared, status=ActionRun.Status.FAILED, error=message)
        if isinstance(exc, ReauthRequired) and connection.status == Connection.Status.ACTIVE:
            connection_mark_reauth(connection=connection, reason=message,
                                   actor=run.actor or "action")
    return run


@transaction.atomic
def _finish(run: ActionRun, declared: Action, *, status: str, external_id: str = "",
            summary: str = "", error: str = "") -> ActionRun:
    run.status, run.external_id, run.summary, run.error = status, external_id, summary, error
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "external_id", "summary", "error", "finished_at"])
    succeeded = status == ActionRun.Status.SUCCEEDED
    AuditEvent.objects.create(
        user_id=run.connection.user_id, provider=run.connection.provider,
        connection_ref=run.connection_id,
        action=AuditEvent.Action.ACTION_SUCCEEDED if succeeded else AuditEvent.Action.ACTION_FAILED,
        message=f"{declared.label}: {external_id if succeeded else error}"[:500],
        actor=run.actor,
    )
    return run


def action_runs_close_stale(*, older_than_seconds: int | None = None) -> int:
    """Close the runs a dead worker left pending or running (nothing else can finish them).

    They are never retried: a run that was sending may have reached the provider, so it fails
    saying the outcome is unknown, and its idempotency key keeps answering with it. Returns
    how many were closed. Scheduled every ten minutes (setup_schedules).
    """
    seconds = (older_than_seconds if older_than_seconds is not None
               else settings.THINKALIKE_ACTION_STALE_SECONDS)
    stale = (ActionRun.objects.select_related("connection")
             .filter(status__in=[ActionRun.Status.PENDING, ActionRun.Status.RUNNING],
                     created_at__lt=timezone.now() - timedelta(seconds=seconds)))
    closed = 0
    for run in stale:
        provider = provider_or_retired(run.connection.provider)
        message = (STOPPED_WHILE_SENDING.format(name=provider.name)
                   if run.status == ActionRun.Status.RUNNING else STOPPED_BEFORE_SENDING)
        # Conditional: a worker that is slow, not dead, may still finish it first.
        if ActionRun.objects.filter(pk=run.pk, status=run.status).update(
                status=ActionRun.Status.FAILED, error=message, finished_at=timezone.now()):
            AuditEvent.objects.create(
                user_id=run.connection.user_id, provider=run.connection.provider,
                connection_ref=run.connection_id, action=AuditEvent.Action.ACTION_FAILED,
                message=f"{run.action}: {message}"[:500], actor="maintenance")
            closed += 1
    return closed
