"""MyAnimeList's API v2: endpoint constants and the request of the list-status write."""

from collections.abc import Mapping

from integrations.wire import ApiRequest

# https://myanimelist.net/apiconfig/references/api/v2
API_BASE = "https://api.myanimelist.net/v2/"
# https://myanimelist.net/apiconfig/references/authorization (PKCE "plain" only)
AUTHORIZE_URL = "https://myanimelist.net/v1/oauth2/authorize"
TOKEN_URL = "https://myanimelist.net/v1/oauth2/token"

# https://myanimelist.net/apiconfig/references/api/v2#operation/users_user_id_get
ME = "users/@me"
# https://myanimelist.net/apiconfig/references/api/v2#operation/users_user_id_animelist_get
ANIME_LIST = "users/@me/animelist"
# https://myanimelist.net/apiconfig/references/api/v2#operation/users_user_id_mangalist_get
MANGA_LIST = "users/@me/mangalist"
# A list answers only id, title and picture unless more is asked for; list_status included.
ANIME_FIELDS = "list_status,genres,alternative_titles,num_episodes"
MANGA_FIELDS = "list_status,genres,alternative_titles,num_chapters"
# Documented maximum of the list endpoints: a 2,000-title list is two requests.
PAGE_SIZE = 1000

# https://myanimelist.net/apiconfig/references/api/v2#operation/anime_anime_id_my_list_status_put
# (and manga_manga_id_my_list_status_put): PATCH, form-encoded; creates or updates the entry.
MY_LIST_STATUS = "{kind}/{media_id}/my_list_status"
# The progress field of a write is named unlike the one of a read (num_episodes_watched).
PROGRESS_FIELD = {"anime": "num_watched_episodes", "manga": "num_chapters_read"}


def list_params(fields: str) -> dict[str, str]:
    # Without nsfw=true MAL silently leaves NSFW titles out of the list (PROVIDERS.md 14).
    return {"fields": fields, "nsfw": "true"}


def update_status(kind: str, media_id: int, values: Mapping[str, str]) -> ApiRequest:
    return ApiRequest(MY_LIST_STATUS.format(kind=kind, media_id=media_id), method="PATCH",
                      data=dict(values))
