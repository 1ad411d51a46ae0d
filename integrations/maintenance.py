"""Operator jobs: proactive token refresh, log retention, encryption key rotation."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .credentials import CREDENTIAL_UNREADABLE
from .exceptions import IntegrationError
from .models import ApiCall, AuditEvent, Connection, Credential, OAuthClientApp
from .providers.registry import UnknownProvider, get_provider
from .reauth import connection_mark_reauth
from .tokens import token_refresh
from .usage import usage_purge

logger = logging.getLogger(__name__)


@dataclass
class RefreshReport:
    refreshed: int = 0
    failed: dict[int, str] = field(default_factory=dict)


def tokens_refresh_expiring(
    *, within: timedelta | None = None, connection_ids: list[int] | None = None
) -> RefreshReport:
    """Refresh OAuth tokens of active connections that expire within ``within``."""
    if within is None:
        within = timedelta(seconds=settings.THINKALIKE_REFRESH_MARGIN_SECONDS * 2)
    credentials = Credential.objects.select_related("connection").filter(
        connection__status=Connection.Status.ACTIVE,
        expires_at__lte=timezone.now() + within,
    )
    if connection_ids:
        credentials = credentials.filter(connection_id__in=connection_ids)
    report = RefreshReport()
    for credential in credentials:
        connection = credential.connection
        try:
            provider = get_provider(connection.provider)
        except UnknownProvider:
            continue
        if not provider.auth.uses_tokens:
            continue
        if not credential.is_readable:
            report.failed[connection.pk] = CREDENTIAL_UNREADABLE
            connection_mark_reauth(connection=connection, reason=CREDENTIAL_UNREADABLE,
                                   actor="command")
            continue
        try:
            # Passing the current token forces the refresh unless another worker beat us.
            token_refresh(connection=connection, stale_access_token=credential.access_token)
            report.refreshed += 1
        except IntegrationError as exc:
            report.failed[connection.pk] = exc.message
    return report


def api_calls_purge(*, older_than_days: int | None = None) -> int:
    """Delete outbound request log rows (and django-q2 success rows) past the retention, and
    the daily usage counters past theirs (400 days, integrations/usage.py)."""
    days = older_than_days if older_than_days is not None else (
        settings.THINKALIKE_API_CALL_RETENTION_DAYS
    )
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = ApiCall.objects.filter(at__lt=cutoff).delete()
    from django_q.models import Success

    Success.objects.filter(stopped__lt=cutoff).delete()
    usage_purge()
    return deleted


@dataclass
class ReencryptReport:
    reencrypted: int = 0
    # Connection ids whose credential no configured key decrypts: left as they are.
    unreadable: list[int] = field(default_factory=list)
    # People's own OAuth apps (integrations/oauth_apps.py): their client secrets.
    apps_reencrypted: int = 0
    unreadable_apps: list[int] = field(default_factory=list)  # OAuthClientApp ids


def credentials_reencrypt(*, batch_size: int = 200) -> ReencryptReport:
    """Re-save every credential so it is encrypted with the newest key.

    Reads accept every configured key, writes use the first, so running this after putting a
    new key first in THINKALIKE_FERNET_KEYS lets the old key be removed afterwards. A row no
    configured key decrypts is skipped and reported (its connection needs reconnecting, or the
    old key back); the others are re-encrypted all the same.
    """
    report = ReencryptReport()
    pks = list(Credential.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), batch_size):
        with transaction.atomic():
            for credential in Credential.objects.select_for_update().filter(
                pk__in=pks[start:start + batch_size]
            ).order_by("pk"):
                if not credential.is_readable:
                    report.unreadable.append(credential.connection_id)
                    continue
                credential.save(update_fields=["access_token", "refresh_token", "secret"])
                report.reencrypted += 1
    with transaction.atomic():
        for app in OAuthClientApp.objects.select_for_update().order_by("pk"):
            if not app.has_secret:
                report.unreadable_apps.append(app.pk)
                continue
            app.save(update_fields=["client_secret"])
            report.apps_reencrypted += 1
    message = f"{report.reencrypted} credentials re-encrypted"
    if report.unreadable:
        message += f"; {len(report.unreadable)} could not be decrypted"
    message += f"; {report.apps_reencrypted} personal OAuth app secrets re-encrypted"
    if report.unreadable_apps:
        message += f"; {len(report.unreadable_apps)} could not be decrypted"
    AuditEvent.objects.create(action=AuditEvent.Action.KEYS_ROTATED, message=message[:500],
                              actor="command")
    return report
