"""AniList's GraphQL API: one endpoint, the queries sent to it, and their request bodies."""

from collections.abc import Mapping
from typing import Any

from integrations.exceptions import ReauthRequired
from integrations.providers.base import require
from integrations.wire import ApiRequest

# https://docs.anilist.co/guide/graphql/  (every query and mutation is a POST here)
API_BASE = "https://graphql.anilist.co/"
GRAPHQL = ""  # the API base itself
# https://docs.anilist.co/guide/auth/authorization-code
AUTHORIZE_URL = "https://anilist.co/api/v2/oauth/authorize"
TOKEN_URL = "https://anilist.co/api/v2/oauth/token"

NO_USER_ID = "This AniList connection has no AniList user id; please reconnect."

# https://docs.anilist.co/reference/query  (Viewer: the token's own user)
VIEWER = "query { Viewer { id name } }"
# https://docs.anilist.co/reference/object/page  (Page.mediaList, at most 50 per page).
# MediaListCollection gives 500 per call but cannot be paged by pageInfo, and AniList has no
# "updated since" filter on either: every pass reads the whole list.
MEDIA_LIST = """
query ($userId: Int, $type: MediaType, $page: Int, $perPage: Int) {
  Page(page: $page, perPage: $perPage) {
    pageInfo { hasNextPage currentPage }
    mediaList(userId: $userId, type: $type) {
      id mediaId status score(format: POINT_100) progress updatedAt
      media { id idMal title { romaji english native } genres tags { name rank isMediaSpoiler } }
    }
  }
}
""".strip()
# https://docs.anilist.co/reference/mutation  (creates the entry, or updates the existing one)
SAVE_ENTRY = """
mutation ($mediaId: Int, $status: MediaListStatus, $progress: Int, $scoreRaw: Int) {
  SaveMediaListEntry(mediaId: $mediaId, status: $status, progress: $progress,
                     scoreRaw: $scoreRaw) {
    id mediaId status progress score(format: POINT_100)
  }
}
""".strip()


def graphql(query: str, **variables: Any) -> ApiRequest:
    return ApiRequest(GRAPHQL, method="POST", json={"query": query, "variables": variables})


def media_list_body(media_type: str):
    """The list query's body for one connection: ``context["userId"]`` is the AniList user id
    (connection_params), sent as the Int the schema declares."""

    def body(context: Mapping[str, str]) -> dict[str, Any]:
        user_id = context.get("userId", "")
        if not (user_id.isascii() and user_id.isdigit() and len(user_id) <= 10):
            # Ours, not AniList's: the account id a connect stored is always Viewer.id.
            raise ReauthRequired(NO_USER_ID)
        return {"query": MEDIA_LIST, "variables": {"userId": int(user_id), "type": media_type}}

    return body


def data_of(payload: Any, field: str) -> dict:
    """``data.<field>`` of a GraphQL answer, an object, or ProviderDataError."""
    return require(require(payload, "data", dict), field, dict)


def viewer(client) -> dict:
    """The token's user, ``{"id": int, "name": str}``."""
    found = data_of(client.fetch(graphql(VIEWER)).payload, "Viewer")
    require(found, "id", int)
    return found
