"""Reads of notices; every one is scoped to its person."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Case, IntegerField, QuerySet, Value, When

from .models import Notice, NotificationSettings


def notices_for_user(*, user: AbstractBaseUser) -> QuerySet[Notice]:
    """The person's notices, unread first, newest first within each."""
    unread_first = Case(When(read_at__isnull=True, then=Value(0)), default=Value(1),
                        output_field=IntegerField())
    return Notice.objects.filter(user=user).order_by(unread_first, "-created_at", "-pk")


def unread_count(*, user: AbstractBaseUser) -> int:
    """One COUNT query (the nav badge)."""
    return Notice.objects.filter(user=user, read_at__isnull=True).count()


def email_on_health(*, user_id: int) -> bool:
    """Whether the person wants health e-mails (yes unless they said no)."""
    wanted = (NotificationSettings.objects.filter(user_id=user_id)
              .values_list("email_on_health", flat=True).first())
    return True if wanted is None else wanted
