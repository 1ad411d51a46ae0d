"""allauth provider for MyAnimeList (allauth ships none): OAuth 2 code flow with PKCE "plain".

MyAnimeList supports only the "plain" PKCE method (its authorization reference: "Currently,
only the plain method is supported") and requires PKCE; allauth generates S256, which MAL
refuses at the token exchange ("Failed to verify code_verifier").
"""

from secrets import token_urlsafe
from urllib.parse import quote

from integrations.allauth.oauth2 import ConnectOAuth2Provider, LabelledAccount, uid_from

from .views import MyAnimeListOAuth2Adapter

# 96 random bytes are 128 URL-safe characters: RFC 7636's longest verifier, which MAL accepts
# (43 to 128).
VERIFIER_BYTES = 96


class MyAnimeListAccount(LabelledAccount):
    label_key = "name"

    def get_profile_url(self):
        name = self.account.extra_data.get("name")
        return f"https://myanimelist.net/profile/{quote(name)}" if isinstance(name, str) else None


class MyAnimeListOAuth2Provider(ConnectOAuth2Provider):
    id = "myanimelist"
    name = "MyAnimeList"
    account_class = MyAnimeListAccount
    oauth2_adapter_class = MyAnimeListOAuth2Adapter

    def get_pkce_params(self) -> dict:
        """Always on (MAL has no flow without it), whatever OAUTH_PKCE_ENABLED says; with
        "plain" the challenge is the verifier itself, which allauth keeps in the state and
        sends back at the token exchange."""
        verifier = token_urlsafe(VERIFIER_BYTES)
        return {"code_verifier": verifier, "code_challenge_method": "plain",
                "code_challenge": verifier}

    def extract_uid(self, data):
        return uid_from(data["id"])  # GET /users/@me's id, an integer
