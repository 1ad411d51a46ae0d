"""What the notices app does when integrations tells it something (integrations/signals.py)."""

from django.db import transaction
from django.dispatch import receiver

from integrations.signals import health_changed

from .services import notice_health_changed


@receiver(health_changed, dispatch_uid="notices.health_changed")
def on_health_changed(sender, *, connection, old, health, at, **kwargs) -> None:
    # A savepoint: a failure here rolls back only the notice, never the caller's change.
    with transaction.atomic():
        notice_health_changed(connection=connection, old=old, health=health, at=at)
