"""Kitsu: a person's anime and manga library (categories become interests), and an action that
updates one library entry. Connected with Kitsu's password grant: the password buys tokens
once and is kept nowhere."""

from dataclasses import replace

from consent.purposes import COMMUNITY_RECOMMENDATION, MATCHING
from integrations.auth import OAuth2Password
from integrations.exceptions import ConnectionTestFailed
from integrations.providers.base import AccountInfo, Provider, Stream

from . import actions, client, errors, mapping

OTHER_ACCOUNT = "The token belongs to a different Kitsu account."

ANIME_LIST = Stream(
    name="anime_list",
    label="Anime list",
    kind="anime",
    purposes=(MATCHING, COMMUNITY_RECOMMENDATION),
    path=client.LIBRARY_ENTRIES,
    params=client.library_params("anime"),
    paginator=client.IncludedPaginator(relation="anime"),
    map_record=mapping.entry_mapper("anime"),
    interests=mapping.list_interests("anime"),
    # Full passes only: a full pass is what notices entries removed from the library (and
    # paging in updatedAt order would be unstable, see client.library_params).
    incremental=False,
)
MANGA_LIST = replace(ANIME_LIST, name="manga_list", label="Manga list", kind="manga",
                     params=client.library_params("manga"),
                     paginator=client.IncludedPaginator(relation="manga"),
                     map_record=mapping.entry_mapper("manga"),
                     interests=mapping.list_interests("manga"))


class KitsuProvider(Provider):
    slug = "kitsu"
    name = "Kitsu"
    description = "Your anime and manga library; categories become interests."
    icon = "KT"
    category = "anime"
    # Kitsu has no app registration: its password grant takes no client id or secret.
    auth = OAuth2Password(token_url=client.TOKEN_URL)
    api_base_url = client.API_BASE
    # The demo's stand-in signs in one account (integrations/sandbox/standins/kitsu.py).
    stand_in = True
    stand_in_username = "demo-otaku@example.com"
    stand_in_example = "kitsu-demo-password-2026"
    # No published limit (UNCONFIRMED): a polite one.
    rate_limit = (60, 60.0)
    revoke_help = (
        "Kitsu documents no revocation API: disconnecting deletes the tokens kept here, and "
        "Kitsu lets them expire (about 30 days)."
    )
    streams = (ANIME_LIST, MANGA_LIST)
    actions = (actions.UPDATE_ENTRY,)

    def connection_params(self, connection) -> dict[str, str]:
        return {"userId": connection.external_account_id}

    def default_headers(self) -> dict[str, str]:
        # JSON:API's media type on data calls (the token endpoint gets plain JSON: tokens.py).
        return {"Accept": client.MEDIA_TYPE, "Content-Type": client.MEDIA_TYPE}

    def check_payload(self, payload) -> None:
        errors.check_payload(payload)

    def test_credentials(self, client_, fields) -> AccountInfo:
        user_id, name = client.account(client_)
        return AccountInfo(external_id=user_id, label=name)

    def test_connection(self, client_, connection) -> AccountInfo:
        user_id, name = client.account(client_)
        if user_id != connection.external_account_id:
            raise ConnectionTestFailed(OTHER_ACCOUNT)
        return AccountInfo(external_id=user_id, label=name)
