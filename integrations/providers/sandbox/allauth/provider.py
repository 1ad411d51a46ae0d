from integrations.allauth.oauth2 import ConnectOAuth2Provider, uid_from

from .views import SandboxOAuth2Adapter


class SandboxOAuth2Provider(ConnectOAuth2Provider):
    id = "sandbox"
    name = "Sandbox"
    oauth2_adapter_class = SandboxOAuth2Adapter

    def extract_uid(self, data):
        return uid_from(data["id"])
