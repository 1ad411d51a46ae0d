from allauth.socialaccount.providers.oauth2.views import OAuth2Adapter, OAuth2LoginView
from django.conf import settings

from integrations.allauth.oauth2 import ConnectCallbackView, ConnectOAuth2Mixin


def sandbox_url(path: str) -> str:
    # Read at call time: tests and the demo point THINKALIKE_SANDBOX_URL at different hosts.
    return settings.THINKALIKE_SANDBOX_URL.rstrip("/") + path


class SandboxOAuth2Adapter(ConnectOAuth2Mixin, OAuth2Adapter):
    provider_id = "sandbox"
    basic_auth = True
    profile_keys = ("id", "display_name")

    @property
    def authorize_url(self):
        return sandbox_url("/oauth/authorize")

    @property
    def access_token_url(self):
        return sandbox_url("/oauth/token")

    @property
    def profile_url(self):
        return sandbox_url("/api/v1/me")


oauth2_login = OAuth2LoginView.adapter_view(SandboxOAuth2Adapter)
oauth2_callback = ConnectCallbackView.adapter_view(SandboxOAuth2Adapter)
