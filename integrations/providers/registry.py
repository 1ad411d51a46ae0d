"""The catalog: one line per provider. No import scanning."""

from django.utils.module_loading import import_string

from .base import Provider

CATALOG = (
    "integrations.providers.sandbox.provider.SandboxProvider",
    "integrations.providers.spotify.provider.SpotifyProvider",
    "integrations.providers.openlibrary.provider.OpenLibraryProvider",
    "integrations.providers.telegram.provider.TelegramProvider",
    "integrations.providers.github.provider.GitHubProvider",
    "integrations.providers.stripe.provider.StripeProvider",
    "integrations.providers.sendgrid.provider.SendGridProvider",
    "integrations.providers.plausible.provider.PlausibleProvider",
    "integrations.providers.anilist.provider.AniListProvider",
    "integrations.providers.myanimelist.provider.MyAnimeListProvider",
    "integrations.providers.kitsu.provider.KitsuProvider",
    "integrations.providers.custom_api.provider.CustomApiProvider",
)

PROVIDERS: dict[str, Provider] = {p.slug: p for p in (import_string(path)() for path in CATALOG)}


class UnknownProvider(LookupError):
    pass


def get_provider(slug: str) -> Provider:
    try:
        return PROVIDERS[slug]
    except KeyError:
        raise UnknownProvider(slug) from None


def all_providers() -> list[Provider]:
    return list(PROVIDERS.values())


def syncing_provider_slugs() -> list[str]:
    """The installed providers that have data to sync (a bot or a custom API may have none)."""
    return [slug for slug, provider in PROVIDERS.items() if provider.streams]


def provider_for_allauth(allauth_id: str) -> Provider | None:
    """The catalog's provider that signs in through allauth's provider ``allauth_id``."""
    return next((p for p in PROVIDERS.values() if p.allauth_id == allauth_id), None)


def provider_name(slug: str) -> str:
    """The display name people know a provider by (the slug when it is not installed)."""
    provider = PROVIDERS.get(slug)
    return provider.name if provider is not None else slug


def register_allauth_providers() -> None:
    """Register each provider's allauth provider class with allauth: the classes live in the
    providers' folders, not in INSTALLED_APPS. Called from IntegrationsConfig.ready()."""
    from allauth.socialaccount.providers import registry  # allauth's models load with apps
    from django.utils.module_loading import import_string

    for provider in PROVIDERS.values():
        if provider.allauth_provider:
            registry.register(import_string(provider.allauth_provider))
