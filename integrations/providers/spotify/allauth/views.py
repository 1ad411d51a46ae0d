"""Spotify's allauth adapter, fixed: Bearer header, raise_for_status, granted scopes kept.

The stock adapter sends ?access_token= and never checks the status, so a 403 from /v1/me (an
app in Development Mode, a user not on its allowlist) became an unhandled KeyError: a 500.
"""

from allauth.socialaccount.providers.oauth2.views import OAuth2Adapter, OAuth2LoginView

from integrations.allauth.oauth2 import ConnectCallbackView, ConnectOAuth2Mixin


class SpotifyOAuth2Adapter(ConnectOAuth2Mixin, OAuth2Adapter):
    provider_id = "spotify"
    # https://developer.spotify.com/documentation/web-api/tutorials/code-flow
    access_token_url = "https://accounts.spotify.com/api/token"
    authorize_url = "https://accounts.spotify.com/authorize"
    # https://developer.spotify.com/documentation/web-api/reference/get-current-users-profile
    profile_url = "https://api.spotify.com/v1/me"
    profile_keys = ("id", "account_id", "display_name", "external_urls", "type")
    basic_auth = True  # Spotify wants the client secret in HTTP Basic auth


oauth2_login = OAuth2LoginView.adapter_view(SpotifyOAuth2Adapter)
oauth2_callback = ConnectCallbackView.adapter_view(SpotifyOAuth2Adapter)
