"""allauth provider for AniList (allauth ships none): OAuth 2 code flow, no scopes, no PKCE."""

from urllib.parse import quote

from integrations.allauth.oauth2 import ConnectOAuth2Provider, LabelledAccount, uid_from

from .views import AniListOAuth2Adapter


class AniListAccount(LabelledAccount):
    label_key = "name"

    def get_profile_url(self):
        name = self.account.extra_data.get("name")
        return f"https://anilist.co/user/{quote(name)}/" if isinstance(name, str) else None


class AniListOAuth2Provider(ConnectOAuth2Provider):
    id = "anilist"
    name = "AniList"
    account_class = AniListAccount
    oauth2_adapter_class = AniListOAuth2Adapter
    pkce_enabled_default = False  # not documented by AniList: assumed unsupported

    def extract_uid(self, data):
        return uid_from(data["id"])  # Viewer.id, an integer
