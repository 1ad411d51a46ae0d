from integrations.allauth.oauth2 import ConnectOAuth2Provider, LabelledAccount, uid_from

from .views import SpotifyOAuth2Adapter


class SpotifyAccount(LabelledAccount):
    def get_profile_url(self):
        return (self.account.extra_data.get("external_urls") or {}).get("spotify")


class SpotifyOAuth2Provider(ConnectOAuth2Provider):
    id = "spotify"
    name = "Spotify"
    account_class = SpotifyAccount
    oauth2_adapter_class = SpotifyOAuth2Adapter

    def extract_uid(self, data):
        # account_id (May 2026) is stable and immutable; older answers only have id.
        return uid_from(data.get("account_id") or data["id"])
