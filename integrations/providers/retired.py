"""A stand-in for a provider that is no longer installed (its slug left the registry).

A person's connection outlives the provider's removal from the catalog, and they must still be
able to see it, delete what it imported and disconnect it. The stand-in asks nothing of the
service: it declares no streams, cannot be connected and revokes nothing.
"""

from __future__ import annotations

from integrations.auth import NoAuth

from .base import Provider
from .registry import PROVIDERS

# Shown to people; tests import them.
RETIRED_REASON = "This service is no longer offered here."
RETIRED_REVOKE_HELP = (
    "this service is no longer offered here, so it could not be asked to revoke access; you can "
    "remove this site's access in the service's own settings."
)


class RetiredProvider(Provider):
    auth = NoAuth()
    description = RETIRED_REASON
    revoke_help = RETIRED_REVOKE_HELP

    def __init__(self, slug: str) -> None:
        # Per instance: the slug is the only name left for a provider that is gone.
        self.slug = slug
        self.name = slug

    def is_available(self) -> bool:
        return False

    def unavailable_reason(self) -> str:
        return RETIRED_REASON


def provider_or_retired(slug: str) -> Provider:
    """The installed provider of ``slug``, else a RetiredProvider standing in for it."""
    return PROVIDERS.get(slug) or RetiredProvider(slug)


def is_retired(provider: Provider) -> bool:
    return isinstance(provider, RetiredProvider)
