from allauth.socialaccount.providers.base import ProviderAccount
from allauth.socialaccount.providers.oauth2.provider import OAuth2Provider

from integrations.allauth.oauth2 import DeclaredScopes, uid_from

from .views import SandboxOAuth2Adapter


class SandboxAccount(ProviderAccount):
    def to_str(self):
        return self.account.extra_data.get("display_name") or super().to_str()


class SandboxOAuth2Provider(DeclaredScopes, OAuth2Provider):
    id = "sandbox"
    name = "Sandbox"
    account_class = SandboxAccount
    oauth2_adapter_class = SandboxOAuth2Adapter
    pkce_enabled_default = True

    def extract_uid(self, data):
        return uid_from(data["id"])

    def extract_common_fields(self, data):
        return {}  # a data source, never an identity: nothing to copy onto the user


