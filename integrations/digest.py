"""The daily staff health digest: the overview's figures as a plain-text e-mail, once a day.

Sent to active staff with an e-mail address. It holds counts, provider names and redacted,
bounded error texts: no secret and nothing about any one person. The day it went out is a
StaffDigest row (unique day), written before sending: a second run the same day cannot claim
the day and sends nothing; a run whose sending failed gives the day back so a retry can send.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from .health_report import RECENT_DAYS, Overview, health_overview
from .models import StaffDigest

logger = logging.getLogger(__name__)

SUBJECT = "ThinkAlike connected services: health on {day}"


def digest_recipients() -> list[str]:
    users = get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")
    return sorted({email for email in users.values_list("email", flat=True) if email})


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
              f"{line.provider}: {line.what}" for line in overview.errors] or ["  none"]
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


def staff_digest_send(*, now: datetime | None = None) -> int:
    """Send today's digest to every active staff member with an e-mail; the number sent.

    0 when it already went out today (UTC), or when no staff member has an e-mail.
    """
    now = now or timezone.now()
    day = now.date()
    recipients = digest_recipients()
    if not recipients:
        return 0
    try:
        with transaction.atomic():
            claim = StaffDigest.objects.create(day=day, recipients=len(recipients))
    except IntegrityError:
        return 0  # already sent today
    text = digest_text(health_overview(now=now, with_charts=False), day=day)
    try:
        # One message each: staff do not see each other's addresses.
        subject = SUBJECT.format(day=day.isoformat())
        send_mass_mail([(subject, text, None, [email]) for email in recipients])
    except Exception:
        claim.delete()  # give the day back: the next run tries again
        logger.exception("could not send the staff health digest")
        raise
    return len(recipients)
