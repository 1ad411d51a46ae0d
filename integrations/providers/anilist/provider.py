"""AniList: a person's anime and manga lists (genres and ranked tags become interests), and an
action that updates one list entry."""

from dataclasses import replace

from consent.purposes import COMMUNITY_RECOMMENDATION, MATCHING
from integrations.auth import OAuth2
from integrations.exceptions import ConnectionTestFailed
from integrations.pagination import GraphQLPageInfoPaginator
from integrations.providers.base import AccountInfo, Provider, Stream

from . import actions, client, errors, mapping

OTHER_ACCOUNT = "The token belongs to a different AniList account."

ANIME_LIST = Stream(
    name="anime_list",
    label="Anime list",
    kind="anime",
    purposes=(MATCHING, COMMUNITY_RECOMMENDATION),
    path=client.GRAPHQL,
    method="POST",
    json=client.media_list_body("ANIME"),
    paginator=GraphQLPageInfoPaginator(records_path="Page.mediaList",
                                       page_info_path="Page.pageInfo", per_page=50),
    map_record=mapping.map_list_entry,
    interests=mapping.list_interests("anime"),
    # Full passes only: mediaList has no "updated since" filter (updatedAt is only a sort).
    incremental=False,
)
MANGA_LIST = replace(ANIME_LIST, name="manga_list", label="Manga list", kind="manga",
                     json=client.media_list_body("MANGA"),
                     interests=mapping.list_interests("manga"))


class AniListProvider(Provider):
    slug = "anilist"
    name = "AniList"
    description = "Your anime and manga lists; genres and well-ranked tags become interests."
    icon = "AL"
    category = "anime"
    auth = OAuth2()
    allauth_id = "anilist"
    # allauth has no AniList provider: ours, whose profile is a GraphQL Viewer query.
    allauth_provider = "integrations.providers.anilist.allauth.provider.AniListOAuth2Provider"
    personal_app = True
    scopes = ()  # AniList has no scopes: a token grants (almost) everything
    api_base_url = client.API_BASE
    # Documented 90/min, but the API is "currently in a degraded state and limited to 30
    # requests per minute" while its headers still say 90: we keep to the real 30.
    rate_limit = (30, 60.0)
    revoke_help = (
        "AniList has no revocation API: remove ThinkAlike under Settings > Apps on anilist.co "
        "to revoke access there. Tokens last a year and cannot be renewed: then reconnect."
    )
    streams = (ANIME_LIST, MANGA_LIST)
    actions = (actions.UPDATE_ENTRY,)

    def connection_params(self, connection) -> dict[str, str]:
        return {"userId": connection.external_account_id}

    def default_headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "Content-Type": "application/json"}

    def check_payload(self, payload) -> None:
        errors.check_payload(payload)

    def classify_response(self, response):
        return errors.classify_response(response)

    def test_connection(self, client_, connection) -> AccountInfo:
        found = client.viewer(client_)
        if str(found["id"]) != connection.external_account_id:
            raise ConnectionTestFailed(OTHER_ACCOUNT)
        name = found.get("name")
        return AccountInfo(external_id=str(found["id"]),
                           label=name[:100] if isinstance(name, str) else "")
