"""The catalog: one line per provider. No import scanning."""

from .base import Provider
from .openlibrary.provider import OpenLibraryProvider
from .sandbox.provider import SandboxProvider
from .spotify.provider import SpotifyProvider

PROVIDERS: dict[str, Provider] = {
    p.slug: p
    for p in (
        SandboxProvider(),
        SpotifyProvider(),
        OpenLibraryProvider(),
    )
}


class UnknownProvider(LookupError):
    pass


def get_provider(slug: str) -> Provider:
    try:
        return PROVIDERS[slug]
    except KeyError:
        raise UnknownProvider(slug) from None


def all_providers() -> list[Provider]:
    return list(PROVIDERS.values())
