"""MyAnimeList's allauth adapter: the code exchange always carries the PKCE verifier, and no
error of it ever carries the token endpoint's answer (which may echo the code or the secret).

The token request is a form (client_id and client_secret in the body: "web" apps have a
secret); the profile is GET /users/@me with the Bearer token.
"""

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Client, OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2Adapter, OAuth2LoginView

from integrations.allauth.oauth2 import (
    BAD_TOKEN_ANSWER,
    BadProviderAnswer,
    ConnectCallbackView,
    ConnectOAuth2Mixin,
)
from integrations.exceptions import ProviderDataError
from integrations.transport import parse_json

from .. import client


class VerifierTokenClient(OAuth2Client):
    def get_access_token(self, code, pkce_code_verifier=None, extra_data=None):
        if not pkce_code_verifier:  # MAL would refuse the exchange: do not send the code
            raise OAuth2Error("the sign-in state has no PKCE code verifier")
        body = {"client_id": self.consumer_key, "client_secret": self.consumer_secret,
                "grant_type": "authorization_code", "code": code,
                "redirect_uri": self.callback_url, "code_verifier": pkce_code_verifier}
        with get_adapter().get_requests_session() as session:
            response = session.post(self.access_token_url, data=body,
                                     headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise OAuth2Error(
                f"MyAnimeList's token endpoint answered HTTP {response.status_code}")
        try:
            # Its shape is checked by parse_token (ConnectOAuth2Mixin), as for every provider.
            return parse_json(response.content or b"", name="MyAnimeList")
        except ProviderDataError:
            raise BadProviderAnswer(BAD_TOKEN_ANSWER, "the token answer is not JSON") from None


class MyAnimeListOAuth2Adapter(ConnectOAuth2Mixin, OAuth2Adapter):
    provider_id = "myanimelist"
    client_class = VerifierTokenClient
    authorize_url = client.AUTHORIZE_URL
    access_token_url = client.TOKEN_URL
    profile_url = client.API_BASE + client.ME
    profile_keys = ("id", "name")


oauth2_login = OAuth2LoginView.adapter_view(MyAnimeListOAuth2Adapter)
oauth2_callback = ConnectCallbackView.adapter_view(MyAnimeListOAuth2Adapter)
