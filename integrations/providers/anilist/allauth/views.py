"""AniList's allauth adapter: the code exchange sent as JSON, the profile a GraphQL query.

AniList documents its token request as a JSON body (docs.anilist.co, authorization code
grant), where allauth sends a form; and its profile is ``query { Viewer { id name } }`` POSTed
to the GraphQL endpoint, not a GET.
"""

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Client, OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2Adapter, OAuth2LoginView

from integrations.allauth.oauth2 import (
    BAD_PROFILE_ANSWER,
    BAD_TOKEN_ANSWER,
    BadProviderAnswer,
    ConnectCallbackView,
    ConnectOAuth2Mixin,
)
from integrations.exceptions import ProviderDataError
from integrations.transport import parse_json

from .. import client


class JsonTokenClient(OAuth2Client):
    def get_access_token(self, code, pkce_code_verifier=None, extra_data=None):
        body = {"grant_type": "authorization_code", "client_id": self.consumer_key,
                "client_secret": self.consumer_secret, "redirect_uri": self.callback_url,
                "code": code}
        with get_adapter().get_requests_session() as session:
            response = session.post(self.access_token_url, json=body,
                                    headers={"Accept": "application/json"})
        # Never the body in the message: an error answer may echo the code or the secret.
        if response.status_code != 200:
            raise OAuth2Error(f"AniList's token endpoint answered HTTP {response.status_code}")
        try:
            # Its shape is checked by parse_token (ConnectOAuth2Mixin), as for every provider.
            return parse_json(response.content or b"", name="AniList")
        except ProviderDataError:
            raise BadProviderAnswer(BAD_TOKEN_ANSWER, "the token answer is not JSON") from None


class AniListOAuth2Adapter(ConnectOAuth2Mixin, OAuth2Adapter):
    provider_id = "anilist"
    client_class = JsonTokenClient
    authorize_url = client.AUTHORIZE_URL
    access_token_url = client.TOKEN_URL
    profile_url = client.API_BASE
    profile_keys = ("id", "name")

    def fetch_profile(self, token) -> dict:
        with get_adapter().get_requests_session() as session:
            response = session.post(self.profile_url, json={"query": client.VIEWER},
                                    headers={"Authorization": f"Bearer {token.token}",
                                             "Accept": "application/json"})
            response.raise_for_status()  # "Invalid token" is a 400: a handled auth error
            try:
                payload = parse_json(response.content or b"", name="AniList")
            except ProviderDataError:
                payload = None
        data = payload.get("data") if isinstance(payload, dict) else None
        viewer = data.get("Viewer") if isinstance(data, dict) else None
        if not isinstance(viewer, dict):
            raise BadProviderAnswer(BAD_PROFILE_ANSWER, "the answer has no Viewer object")
        return viewer


oauth2_login = OAuth2LoginView.adapter_view(AniListOAuth2Adapter)
oauth2_callback = ConnectCallbackView.adapter_view(AniListOAuth2Adapter)
