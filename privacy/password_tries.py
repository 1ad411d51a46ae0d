"""The password tries of the API's destructive endpoints (DELETE /api/v1/account/, POST
/api/v1/data/purge/): at most PASSWORD_TRIES in any hour per person, both endpoints together.

Each person has PASSWORD_TRIES slots (``PasswordTrySlot``, unique per person and number). A try
claims a slot whose last claim is an hour old with one conditional UPDATE, or a slot never
used with an INSERT the unique constraint lets only one request win. No read-check-write: two
parallel requests cannot both take one slot, so at most PASSWORD_TRIES tries start in any hour
(a sliding hour: a slot frees an hour after its own claim, not at the top of the clock). A try
is claimed before the password is checked. Rows, not cache keys: a cache culls or evicts keys
when it fills, and anyone able to fill it would get fresh tries.
"""

from __future__ import annotations

import math
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Min

from integrations import clock

from .models import PasswordTrySlot

PASSWORD_TRIES = 5
WINDOW = timedelta(hours=1)


def password_try_claim(*, user_id: int) -> int | None:
    """Claim one try for ``user_id``; None when claimed, else the seconds until a slot frees."""
    now = clock.now()
    slots = PasswordTrySlot.objects.filter(user_id=user_id)
    for slot in range(PASSWORD_TRIES):
        if slots.filter(slot=slot, claimed_at__lte=now - WINDOW).update(claimed_at=now):
            return None
        try:
            with transaction.atomic():
                PasswordTrySlot.objects.create(user_id=user_id, slot=slot, claimed_at=now)
            return None
        except IntegrityError:  # the slot exists and was claimed within the hour
            continue
    oldest = slots.aggregate(oldest=Min("claimed_at"))["oldest"] or now
    return max(1, math.ceil((oldest + WINDOW - now).total_seconds()))
