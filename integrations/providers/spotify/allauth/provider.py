from allauth.socialaccount.providers.base import ProviderAccount
from allauth.socialaccount.providers.oauth2.provider import OAuth2Provider

from integrations.allauth.oauth2 import DeclaredScopes, uid_from

from .views import SpotifyOAuth2Adapter


class SpotifyAccount(ProviderAccount):
    def get_profile_url(self):
        return (self.account.extra_data.get("external_urls") or {}).get("spotify")

    def to_str(self):
        return self.account.extra_data.get("display_name") or super().to_str()


class SpotifyOAuth2Provider(DeclaredScopes, OAuth2Provider):
    id = "spotify"
    name = "Spotify"
    account_class = SpotifyAccount
    oauth2_adapter_class = SpotifyOAuth2Adapter
    pkce_enabled_default = True

    def extract_uid(self, data):
        # account_id (May 2026) is stable and immutable; older answers only have id.
        return uid_from(data.get("account_id") or data["id"])

    def extract_common_fields(self, data):
        return {}

