"""A consent receipt: one consent change as a JSON document the person can keep.

Its fields are the event's own (what, for which service, the answer, when, under which policy
version, where the change was made); nothing is recomputed from today's state, so a receipt
downloaded later says what was recorded then.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from integrations.providers.registry import PROVIDERS

from .models import ConsentEvent
from .purposes import PURPOSES

RECEIPT_FORMAT = "thinkalike-consent-receipt/1"
ALL_SERVICES = "all services"


def _answer(event: ConsentEvent) -> str:
    """granted, withdrawn, or cleared (the per-service answer was removed)."""
    return {True: "granted", False: "withdrawn", None: "cleared"}[event.granted]


def consent_receipt(*, event: ConsentEvent) -> dict[str, Any]:
    """The receipt of ``event``, ready for ``json.dumps``."""
    purpose = PURPOSES.get(event.purpose)
    provider = PROVIDERS.get(event.provider) if event.provider else None
    return {
        "format": RECEIPT_FORMAT,
        "receipt_id": event.pk,
        "person": event.user.get_username(),
        "purpose": {"slug": event.purpose, "name": purpose.name if purpose else event.purpose},
        # "" is the answer for every service.
        "provider": {"slug": event.provider,
                     "name": provider.name if provider else (event.provider or ALL_SERVICES)},
        "answer": _answer(event),
        "granted": event.granted,
        "at": event.at.isoformat(),
        "policy_version": event.policy_version,
        "source": {"code": event.source, "name": str(event.get_source_display())},
        "issued_at": timezone.now().isoformat(),
    }


def receipt_filename(event: ConsentEvent) -> str:
    return f"consent-receipt-{event.pk}.json"
