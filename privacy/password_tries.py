"""The password tries of the API's destructive endpoints (DELETE /api/v1/account/, POST
/api/v1/data/purge/): at most PASSWORD_TRIES an hour per person, both endpoints together.

A try claims a numbered slot of the current hour with ``cache.add``, which is atomic on every
backend (Redis SET NX, a unique row insert in the database cache): no read-check-write as in
DRF's SimpleRateThrottle, whose history two parallel requests can both read before either
writes. So however many requests run at once, at most PASSWORD_TRIES slots exist per window,
and each request holds its own. A try is claimed before the password is checked.
"""

from __future__ import annotations

import math

from django.core.cache import cache

from integrations import clock

PASSWORD_TRIES = 5
WINDOW_SECONDS = 3600
KEY_PREFIX = "thinkalike:password-tries:v1"


def password_try_claim(*, user_id: int) -> int | None:
    """Claim one try for ``user_id``; None when claimed, else the seconds until the next
    window (every slot of this one is taken)."""
    now = clock.time()
    window = int(now // WINDOW_SECONDS)
    for slot in range(1, PASSWORD_TRIES + 1):
        key = f"{KEY_PREFIX}:{user_id}:{window}:{slot}"
        if cache.add(key, 1, timeout=WINDOW_SECONDS + 60):
            return None
    return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
