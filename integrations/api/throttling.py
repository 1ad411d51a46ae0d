"""Throttling per personal token (per person for the site's own session requests)."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from ..models import ApiToken


class PerTokenThrottle(SimpleRateThrottle):
    """Each token has its own budget, so one busy script does not starve the person's others;
    session requests share one budget per person. Anonymous requests are refused before this
    counts anything, by IsAuthenticated."""

    scope = "per_token"

    def get_cache_key(self, request, view) -> str | None:
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.token_key}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"anon:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
