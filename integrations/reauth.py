"""Flagging a connection for reconnecting, and the audit line every state change writes.

Below services.py, tokens.py and sync.py, which all need them, so none of those has to import
another lazily.
"""

from django.db import transaction
from django.utils import timezone

from .health_record import connection_health_record
from .models import AuditEvent, Connection
from .redaction import redact_text


def audit(connection: Connection, action: str, message: str = "", actor: str = "") -> None:
    AuditEvent.objects.create(
        user_id=connection.user_id, provider=connection.provider, connection_ref=connection.pk,
        action=action, message=message[:500], actor=actor[:100],
    )


@transaction.atomic
def connection_mark_reauth(*, connection: Connection, reason: str, actor: str = "") -> None:
    """Flag that the person must reconnect. Imported data stays."""
    reason = redact_text(reason)
    Connection.objects.filter(pk=connection.pk).update(
        status=Connection.Status.NEEDS_REAUTH, last_error=reason[:1000],
        updated_at=timezone.now(),
    )
    connection.status = Connection.Status.NEEDS_REAUTH
    audit(connection, AuditEvent.Action.MARKED_REAUTH, reason, actor)
    connection_health_record(connection=connection, now=timezone.now())
