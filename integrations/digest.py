"""The daily staff health digest: the overview's figures as a plain-text e-mail, once a day.

Sent to active staff with an e-mail address who may see the overview (the
``integrations.view_healthoverview`` permission; superusers have every permission). It holds
counts, provider names and error codes with our own fixed description: no secret, no provider
wording and nothing about any one person.

The schedule runs hourly; from ``THINKALIKE_DIGEST_HOUR`` (UTC) on, a run builds the text first,
then claims the day (a ``StaffDigest`` row, unique day, with a short lease), sends one message
per recipient and records each address as soon as its message went out. A run that fails
(building or sending) raises and leaves the day unfinished; the next hourly run sends only to
those not reached yet. Once everyone has it, the day is finished and later runs send nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from .health_report import RECENT_DAYS, Overview, health_overview
from .models import StaffDigest

logger = logging.getLogger(__name__)

SUBJECT = "ThinkAlike connected services: health on {day}"


PERMISSION = "integrations.view_healthoverview"
# A run holds the day this long: a worker killed while sending loses it to a later run.
LEASE = timedelta(minutes=30)


def digest_recipients() -> list[str]:
    """The addresses of active staff who may see the overview (one query)."""
    users = ModelBackend().with_perm(PERMISSION, is_active=True, include_superusers=True)
    emails = users.filter(is_staff=True).exclude(email="").values_list("email", flat=True)
    return sorted({email for email in emails if email})


def digest_text(overview: Overview, *, day) -> str:
    lines = [f"Connected services health on {day.isoformat()} (UTC).", ""]
    totals = overview.totals
    lines.append("Connections by health: " + ", ".join(
        f"{words.lower()} {totals[state]}" for state, words in overview.state_words) + ".")
    for row in overview.health:
        lines.append(f"  {row.name}: " + ", ".join(
            f"{words.lower()} {row.states[state]}" for state, words in overview.state_words
            if row.states[state]) + f" (all {row.total})")
    lines += ["", f"Most common errors, last {RECENT_DAYS} days:"]
    lines += [f"  {line.count} x {'sync' if line.source == 'sync' else 'request'} "
              f"{line.provider}: {line.code} ({line.what})"
              for line in overview.errors] or ["  none"]
    lines += ["", f"Requests per provider since {overview.since.isoformat()}:"]
    lines += [f"  {row.name}: {row.requests} requests, {row.errors} errors, "
              f"{row.rate_limit_waits} rate-limit waits ({row.wait_seconds} s)"
              for row in overview.usage] or ["  none"]
    lines += ["", f"Proxy cache hit rate since {overview.since.isoformat()}:"]
    lines += [f"  {row.name}: {row.hit_rate_text} of {row.answered} answers, "
              f"{row.errors} errors" for row in overview.cache] or ["  none"]
    base = getattr(settings, "THINKALIKE_SITE_URL", "").rstrip("/")
    lines += ["", f"The overview: {base}{reverse('admin:integrations_healthoverview_changelist')}"]
    return "\n".join(lines) + "\n"


def _claim(day, recipients: list[str], now: datetime) -> list[str] | None:
    """Hold the day and return who still needs the digest; None when it is finished or
    another run holds it."""
    try:
        with transaction.atomic():
            StaffDigest.objects.create(day=day, recipients=len(recipients),
                                       claimed_until=now + LEASE)
            return recipients
    except IntegrityError:
        pass
    with transaction.atomic():
        row = StaffDigest.objects.select_for_update().filter(day=day).first()
        if row is None or row.finished_at or (row.claimed_until and row.claimed_until > now):
            return None
        row.claimed_until = now + LEASE
        row.recipients = len(set(row.sent_to) | set(recipients))
        row.save(update_fields=["claimed_until", "recipients"])
        done = set(row.sent_to)
        return [email for email in recipients if email not in done]


def staff_digest_send(*, now: datetime | None = None) -> int:
    """Send today's digest to the recipients it has not reached yet; the number sent now.

    0 before ``THINKALIKE_DIGEST_HOUR`` (UTC), when today's digest is finished or being sent
    by another run, or when nobody may receive it. Raises when building or sending fails,
    after recording who got it: the next run sends to the others.
    """
    now = now or timezone.now()
    if now.astimezone(UTC).hour < settings.THINKALIKE_DIGEST_HOUR:
        return 0
    day = now.astimezone(UTC).date()
    if StaffDigest.objects.filter(day=day, finished_at__isnull=False).exists():
        return 0
    recipients = digest_recipients()
    if not recipients:
        return 0
    # Built before the day is claimed: a failure here claims nothing.
    text = digest_text(health_overview(now=now, with_charts=False), day=day)
    pending = _claim(day, recipients, now)
    if pending is None:
        return 0
    subject = SUBJECT.format(day=day.isoformat())
    sent: list[str] = []
    try:
        with get_connection() as mail:
            for email in pending:
                # One message each: staff do not see each other's addresses.
                EmailMessage(subject, text, None, [email], connection=mail).send()
                sent.append(email)
                _record(day, sent)
    except Exception:
        StaffDigest.objects.filter(day=day).update(claimed_until=None)  # the next run goes on
        logger.exception("could not send the staff health digest to %d of %d recipients",
                         len(pending) - len(sent), len(pending))
        raise
    StaffDigest.objects.filter(day=day).update(claimed_until=None, finished_at=timezone.now())
    return len(sent)


def _record(day, sent: list[str]) -> None:
    """Add the addresses just reached to the day's ``sent_to`` (this run holds the day)."""
    with transaction.atomic():
        row = StaffDigest.objects.select_for_update().get(day=day)
        row.sent_to = sorted(set(row.sent_to) | set(sent))
        row.save(update_fields=["sent_to"])
