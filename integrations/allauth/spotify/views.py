"""Spotify's allauth adapter, fixed: Bearer header, raise_for_status, granted scopes kept.

The stock adapter sends ?access_token= and never checks the status, so a 403 from /v1/me (an
app in Development Mode, a user not on its allowlist) became an unhandled KeyError: a 500.
"""

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.base import ProviderException
from allauth.socialaccount.providers.oauth2.views import (
    OAuth2Adapter,
    OAuth2CallbackView,
    OAuth2LoginView,
)

from integrations.allauth.scopes import GrantedScopeMixin
from integrations.exceptions import ProviderDataError
from integrations.http import parse_json


class SpotifyOAuth2Adapter(GrantedScopeMixin, OAuth2Adapter):
    provider_id = "spotify"
    # https://developer.spotify.com/documentation/web-api/tutorials/code-flow
    access_token_url = "https://accounts.spotify.com/api/token"
    authorize_url = "https://accounts.spotify.com/authorize"
    # https://developer.spotify.com/documentation/web-api/reference/get-current-users-profile
    profile_url = "https://api.spotify.com/v1/me"
    basic_auth = True  # Spotify wants the client secret in HTTP Basic auth

    def complete_login(self, request, app, token, **kwargs):
        with get_adapter().get_requests_session() as session:
            response = session.get(
                self.profile_url, headers={"Authorization": f"Bearer {token.token}"}
            )
            response.raise_for_status()  # HTTPError is a RequestException: handled by allauth
            try:
                profile = parse_json(response.content, name="Spotify")
            except ProviderDataError:
                profile = None
        if not isinstance(profile, dict) or not isinstance(profile.get("id"), str):
            raise ProviderException("Spotify's profile answer had no account id")
        return self.get_provider().sociallogin_from_response(request, profile)


oauth2_login = OAuth2LoginView.adapter_view(SpotifyOAuth2Adapter)
oauth2_callback = OAuth2CallbackView.adapter_view(SpotifyOAuth2Adapter)
