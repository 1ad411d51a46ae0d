"""GitHub's allauth adapter, made safe: an error answer to the code exchange is refused.

GitHub answers a bad code (``bad_verification_code``), a wrong secret or redirect with HTTP 200
and ``{"error": ...}``. allauth raises OAuth2Error for an answer without an access token, whose
text holds the whole answer; here it becomes a BadProviderAnswer that names no value from it.
"""

from allauth.socialaccount.providers.github.views import GitHubOAuth2Adapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2LoginView

from integrations.allauth.oauth2 import (
    BAD_TOKEN_ANSWER,
    BadProviderAnswer,
    ConnectCallbackView,
    ConnectOAuth2Mixin,
)


class GitHubConnectAdapter(ConnectOAuth2Mixin, GitHubOAuth2Adapter):
    # Without it GitHub answers the code exchange form-encoded.
    headers = {"Accept": "application/json"}
    # profile_url is allauth's: https://docs.github.com/en/rest/users/users#get-the-authenticated-user
    profile_keys = ("id", "login", "name", "html_url", "avatar_url", "type")

    def get_access_token_data(self, request, app, client, pkce_code_verifier=None):
        try:
            return super().get_access_token_data(request, app, client,
                                                 pkce_code_verifier=pkce_code_verifier)
        except OAuth2Error:
            raise BadProviderAnswer(BAD_TOKEN_ANSWER, "the token answer has no access token "
                                                      "(an error answer)") from None

    def parse_token(self, data):
        if isinstance(data, dict) and "error" in data:
            raise BadProviderAnswer(BAD_TOKEN_ANSWER, "the token answer names an error")
        return super().parse_token(data)


oauth2_login = OAuth2LoginView.adapter_view(GitHubConnectAdapter)
oauth2_callback = ConnectCallbackView.adapter_view(GitHubConnectAdapter)
