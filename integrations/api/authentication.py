"""Personal API tokens (knox, hashed at rest) that remember when they were last used."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication

from ..models import ApiToken

# Writing last use on every request would make each API call a write; a minute is exact enough
# for "last used" and keeps a busy token to one UPDATE a minute.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Bearer ta_...``; an expired token is refused (and deleted by knox)."""

    def authenticate_credentials(self, token: bytes):
        user, api_token = super().authenticate_credentials(token)
        now = timezone.now()
        if api_token.last_used_at is None or api_token.last_used_at < now - LAST_USED_RESOLUTION:
            # Conditional, so concurrent requests write at most once, and never inside the
            # caller's transaction work.
            ApiToken.objects.filter(digest=api_token.digest).exclude(
                last_used_at__gte=now - LAST_USED_RESOLUTION
            ).update(last_used_at=now)
            api_token.last_used_at = now
        return user, api_token


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "integrations.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A personal API token from the API tokens page."}
