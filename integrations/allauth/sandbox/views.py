from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.base import ProviderException
from allauth.socialaccount.providers.oauth2.views import (
    OAuth2Adapter,
    OAuth2CallbackView,
    OAuth2LoginView,
)
from django.conf import settings

from integrations.allauth.scopes import GrantedScopeMixin
from integrations.exceptions import ProviderDataError
from integrations.http import parse_json


def sandbox_url(path: str) -> str:
    # Read at call time: tests and the demo point THINKALIKE_SANDBOX_URL at different hosts.
    return settings.THINKALIKE_SANDBOX_URL.rstrip("/") + path


class SandboxOAuth2Adapter(GrantedScopeMixin, OAuth2Adapter):
    provider_id = "sandbox"
    basic_auth = True

    @property
    def authorize_url(self):
        return sandbox_url("/oauth/authorize")

    @property
    def access_token_url(self):
        return sandbox_url("/oauth/token")

    @property
    def profile_url(self):
        return sandbox_url("/api/v1/me")

    def complete_login(self, request, app, token, **kwargs):
        with get_adapter().get_requests_session() as session:
            response = session.get(
                self.profile_url, headers={"Authorization": f"Bearer {token.token}"}
            )
            response.raise_for_status()  # an HTTPError is a handled auth error, not a 500
            try:
                profile = parse_json(response.content, name="Sandbox")
            except ProviderDataError as error:
                raise ProviderException(error.message) from None
        if not isinstance(profile, dict) or not profile.get("id"):
            raise ProviderException("The sandbox profile has no account id.")
        return self.get_provider().sociallogin_from_response(request, profile)


oauth2_login = OAuth2LoginView.adapter_view(SandboxOAuth2Adapter)
oauth2_callback = OAuth2CallbackView.adapter_view(SandboxOAuth2Adapter)
