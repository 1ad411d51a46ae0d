"""The built-in demo service: an OAuth 2 server and a music API served under /sandbox/."""

from django.conf import settings

from consent.purposes import COMMUNITY_RECOMMENDATION, MATCHING
from integrations.auth import OAuth2
from integrations.cursors import IsoTimeCursor
from integrations.exceptions import ConnectionTestFailed
from integrations.pagination import NextUrlPaginator
from integrations.providers.base import AccountInfo, Provider, Stream, require

from . import mapping


class SandboxProvider(Provider):
    slug = "sandbox"
    name = "Sandbox"
    description = (
        "A built-in demo music service. Try connecting, consenting and syncing without an "
        "account anywhere else."
    )
    icon = "SB"
    category = "music"
    auth = OAuth2()
    allauth_id = "sandbox"
    allauth_provider = "integrations.providers.sandbox.allauth.provider.SandboxOAuth2Provider"
    scopes = ("library.read", "profile.read")
    streams = (
        Stream(
            name="tracks",
            label="Saved tracks",
            kind="track",
            purposes=(MATCHING, COMMUNITY_RECOMMENDATION),
            path="me/tracks",
            paginator=NextUrlPaginator(limit=50),
            map_record=mapping.map_track,
            interests=mapping.genre_interests,
            incremental=True,
            cursor=IsoTimeCursor("updated_at"),
            since_param="updated_since",
        ),
        Stream(
            name="top_artists",
            label="Top artists",
            kind="artist",
            purposes=(MATCHING,),
            path="me/top-artists",
            paginator=NextUrlPaginator(limit=50),
            map_record=mapping.map_artist,
            interests=mapping.genre_interests,
        ),
    )

    def is_available(self) -> bool:
        return settings.THINKALIKE_SANDBOX

    def unavailable_reason(self) -> str:
        return "The sandbox is switched off (THINKALIKE_SANDBOX)."

    def get_api_base_url(self, config=None) -> str:
        return settings.THINKALIKE_SANDBOX_URL.rstrip("/") + "/api/v1/"

    def get_rate_limit(self) -> tuple[int, float] | None:
        # Configurable, so tests and benchmarks can match the limit the sandbox enforces.
        return settings.THINKALIKE_SANDBOX_RATE_LIMIT

    def get_revoke_url(self) -> str:
        return settings.THINKALIKE_SANDBOX_URL.rstrip("/") + "/oauth/revoke"

    def test_connection(self, client, connection) -> AccountInfo:
        me = client.get_json("me")
        account_id = require(me, "id")
        if account_id != connection.external_account_id:
            raise ConnectionTestFailed("The token belongs to a different sandbox account.")
        return AccountInfo(external_id=account_id, label=me.get("display_name") or account_id)
