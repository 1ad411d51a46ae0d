"""allauth provider for AniList (allauth ships none): OAuth 2 code flow, no scopes, no PKCE."""

from urllib.parse import quote

from allauth.socialaccount.providers.base import ProviderAccount
from allauth.socialaccount.providers.oauth2.provider import OAuth2Provider

from integrations.allauth.oauth2 import DeclaredScopes, uid_from

from .views import AniListOAuth2Adapter


class AniListAccount(ProviderAccount):
    def to_str(self):
        return self.account.extra_data.get("name") or super().to_str()

    def get_profile_url(self):
        name = self.account.extra_data.get("name")
        return f"https://anilist.co/user/{quote(name)}/" if isinstance(name, str) else None


class AniListOAuth2Provider(DeclaredScopes, OAuth2Provider):
    id = "anilist"
    name = "AniList"
    account_class = AniListAccount
    oauth2_adapter_class = AniListOAuth2Adapter
    pkce_enabled_default = False  # not documented by AniList: assumed unsupported

    # extract_common_fields stays allauth's empty default: a data source, never an identity.

    def extract_uid(self, data):
        return uid_from(data["id"])  # Viewer.id, an integer
