"""Writing notices and sending their e-mails. Views, the API and the receivers call these."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from integrations import health as health_states
from integrations.health import Health
from integrations.models import Connection
from integrations.providers.retired import provider_or_retired
from integrations.queue import enqueue_many

from .models import Notice, NotificationSettings
from .selectors import email_on_health

logger = logging.getLogger(__name__)

# Words people see; tests import them.
TITLES = {
    Notice.Kind.FAILING: "{name} is failing",
    Notice.Kind.NEEDS_RECONNECT: "{name} needs reconnecting",
    Notice.Kind.RECOVERED: "{name} is working again",
}
EMAIL_SUBJECT = "ThinkAlike: {title}"
# The e-mail says what happened in fixed words per kind: the reason (the notice's body) quotes
# what the provider wrote, which stays in the app, behind the sign-in.
EMAIL_REASONS = {
    Notice.Kind.FAILING: (
        "{name} has failed several times in a row: ThinkAlike cannot sync it for now. "
        "What went wrong is on the connection's page."),
    Notice.Kind.NEEDS_RECONNECT: (
        "{name} no longer accepts ThinkAlike's access (or its stored key can no longer be "
        "read): reconnect it to sync again."),
}
EMAIL_TASK = "notices.tasks.send_notice_email"  # in queued payloads: keep the name
EMAIL_BODY = """{title}.

{reason}

See the connection: {link}

You get this e-mail once when a connection starts failing or needs reconnecting, not for every
failed attempt. To stop these e-mails, untick "E-mail me when a connection fails" on {notices}
"""
# The states that notify, and the kind of notice each one opens.
ALERTS = {health_states.FAILING: Notice.Kind.FAILING,
          health_states.NEEDS_RECONNECT: Notice.Kind.NEEDS_RECONNECT}


def notice_health_changed(
    *, connection: Connection, old: str, health: Health, at: datetime
) -> Notice | None:
    """Act on a recorded change of ``connection``'s health (sent once per change).

    The open notices of the connection are resolved; a change to failing or needs
    reconnecting opens one notice and, unless the person opted out, sends one e-mail after
    commit; a change back to healthy that resolved one adds a "working again" notice, with
    no e-mail. Any other change (degraded, idle) only resolves. Returns the notice written.
    """
    resolved = Notice.objects.filter(connection=connection, state=Notice.State.OPEN).update(
        state=Notice.State.RESOLVED, resolved_at=at)
    kind = ALERTS.get(health.state)
    if kind is None and not (health.state == health_states.HEALTHY and resolved):
        return None
    if kind is None:
        kind, state = Notice.Kind.RECOVERED, Notice.State.RESOLVED
    else:
        state = Notice.State.OPEN
    notice = Notice.objects.create(
        user_id=connection.user_id, connection=connection, provider=connection.provider,
        kind=kind, state=state, title=TITLES[kind].format(name=connection.provider_name),
        body=health.reason, created_at=at,
        resolved_at=at if state == Notice.State.RESOLVED else None,
    )
    if kind != Notice.Kind.RECOVERED and email_on_health(user_id=connection.user_id):
        # Queued once committed, sent by a worker: an SMTP server that hangs (EMAIL_TIMEOUT
        # bounds it there) never holds a sync, a test or a web request.
        transaction.on_commit(lambda: notice_email_queue(notice_id=notice.pk))
    return notice


def notice_email_queue(*, notice_id: int) -> None:
    enqueue_many(EMAIL_TASK, [((notice_id,), f"notice-email-{notice_id}")])


def notice_email_send(*, notice_id: int) -> bool:
    """Send a notice's e-mail once. A failure is logged and not retried: the notice is in the
    app either way, and the next change of health sends the next e-mail.

    Judged again when the queued task runs, since things change between the two: nothing is
    sent once the person has opted out, the account is closed (inactive), or the notice is no
    longer open (the connection works again, or changed state)."""
    notice = Notice.objects.select_related("user").filter(pk=notice_id).first()
    if notice is None or notice.emailed_at is not None or not notice.user.email:
        return False
    if (notice.state != Notice.State.OPEN or not notice.user.is_active
            or not email_on_health(user_id=notice.user_id)):
        return False
    site = settings.THINKALIKE_SITE_URL.rstrip("/")
    link = site + (reverse("integrations:connection_detail", args=[notice.connection_id])
                   if notice.connection_id else reverse("integrations:connected_services"))
    reason = EMAIL_REASONS.get(notice.kind, "{name}").format(
        name=_provider_name(notice.provider))
    body = EMAIL_BODY.format(title=notice.title, reason=reason, link=link,
                             notices=site + reverse("notices:notices"))
    try:
        send_mail(EMAIL_SUBJECT.format(title=notice.title), body, None, [notice.user.email])
    except Exception as exc:  # an unreachable mail server must not fail a sync or a test
        logger.warning("notice %s: the e-mail could not be sent (%s)", notice.pk,
                       type(exc).__name__)
        return False
    Notice.objects.filter(pk=notice.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now())
    return True


def _provider_name(slug: str) -> str:
    return provider_or_retired(slug).name if slug else "A connected service"


def notices_mark_all_read(*, user: AbstractBaseUser) -> int:
    """Mark every unread notice of ``user`` read; returns how many."""
    return Notice.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now())


def notification_settings_update(
    *, user: AbstractBaseUser, email_on_health: bool
) -> NotificationSettings:
    preferences, _ = NotificationSettings.objects.update_or_create(
        user=user, defaults={"email_on_health": email_on_health})
    return preferences
