"""A stand-in of MyAnimeList's API v2 for the demo: users/@me, the anime and manga lists
(``fields``, ``status``, ``sort``, ``limit``/``offset`` with an absolute ``paging.next``) and
the PATCH of my_list_status, which creates or updates an entry of the demo account's list
(anime_lists.py) so the next GET shows it. Any bearer token shaped like MAL's (a JWT) is the
demo account's. MAL documents no rate-limit headers and none are sent (PROVIDERS.md 5)."""

import re
from urllib.parse import urlencode

from django.http import JsonResponse
from django.urls import path

from integrations.providers.myanimelist import client

from . import anime_lists as lists
from .gate import form_body, stand_in_view

KEY = re.compile(r"Bearer eyJ[A-Za-z0-9_-]{8,500}\.[A-Za-z0-9_-]{2,2000}\.[A-Za-z0-9_-]{2,500}")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_COUNT = 100_000
# MyAnimeList's genre ids for the names the catalogue uses.
GENRE_IDS = {"Action": 1, "Adventure": 2, "Comedy": 4, "Mystery": 7, "Drama": 8,
             "Fantasy": 10, "Historical": 13, "Horror": 14, "Samurai": 21, "Sci-Fi": 24,
             "Slice of Life": 36, "Supernatural": 37, "Suspense": 41, "Award Winning": 46}
TOTAL_FIELD = {"anime": "num_episodes", "manga": "num_chapters"}
READ_PROGRESS = {"anime": "num_episodes_watched", "manga": "num_chapters_read"}
REPEATING = {"anime": "is_rewatching", "manga": "is_rereading"}
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def error(status: int, code: str, message: str = "") -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


mal_view = stand_in_view(KEY, lambda: error(401, "invalid_token", "token is invalid"),
                         lambda request: {}, methods=("GET", "PATCH"))


def me(request) -> JsonResponse:
    return JsonResponse(lists.MAL_ACCOUNT)


def whole(value: str | None, default: int) -> int | None:
    if value is None:
        return default
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def list_status(row) -> dict:
    """An entry's list_status as MAL answers it, in a list and after a PATCH."""
    reading = row.kind == "manga"
    status = {"status": row.status, "score": row.score or 0,
              READ_PROGRESS[row.kind]: row.progress, REPEATING[row.kind]: row.repeating,
              "updated_at": lists.iso(row.updated_at)}
    if reading:
        status["num_volumes_read"] = 0
    return status


def node(row, fields: set[str]) -> dict:
    found = {"id": row.media_id, "title": row.title}
    if "alternative_titles" in fields:
        found["alternative_titles"] = {"synonyms": [], "en": row.title_en, "ja": row.title_ja}
    if "genres" in fields:
        found["genres"] = [{"id": GENRE_IDS.get(name, 0), "name": name} for name in row.genres]
    if TOTAL_FIELD[row.kind] in fields:
        found[TOTAL_FIELD[row.kind]] = row.total or 0  # MAL's 0: not known yet
    return found


def page_url(request, offset: int) -> str:
    """This request's URL at another offset, written as MAL writes paging links."""
    params = [("offset", str(offset))] + [(name, value) for name, values in request.GET.lists()
                                          if name != "offset" for value in values]
    return request.build_absolute_uri(request.path) + "?" + urlencode(params)


SORTS = {"list_score": lambda row: (-(row.score or 0), row.media_id),
         "list_updated_at": lambda row: (-row.updated_at.timestamp(), row.media_id),
         "title": lambda row: (row.title.lower(), row.media_id),
         # No start dates are kept: newest media id first stands in for the newest title.
         "start_date": lambda row: -row.media_id}


def sort_key(sort: str, kind: str):
    if sort in ("list_score", "list_updated_at"):
        return SORTS[sort]
    prefix = f"{kind}_"
    return SORTS.get(sort[len(prefix):]) if sort.startswith(prefix) else None


def user_list(kind: str):
    def view(request) -> JsonResponse:
        params = request.GET
        limit, offset = whole(params.get("limit"), DEFAULT_LIMIT), whole(params.get("offset"), 0)
        if limit is None or offset is None or not 1 <= limit <= MAX_LIMIT:
            return error(400, "bad_request", "invalid q")
        # Nested field lists (list_status{priority}) select sub-fields; all are answered here.
        fields = set(re.sub(r"\{[^}]*\}", "", params.get("fields", "")).split(","))
        rows = list(lists.list_entries(lists.MAL, kind))
        status = params.get("status")
        if status is not None:
            if status not in lists.STATUSES[lists.MAL, kind]:
                return error(400, "bad_request", "invalid status")
            rows = [row for row in rows if row.status == status]
        key = sort_key(params.get("sort", ""), kind) if "sort" in params else SORTS["title"]
        if key is None:
            return error(400, "bad_request", "invalid sort")
        rows.sort(key=key)
        data = [{"node": node(row, fields), **({"list_status": list_status(row)}
                                               if "list_status" in fields else {})}
                for row in rows[offset:offset + limit]]
        paging = {}
        if offset > 0:
            paging["previous"] = page_url(request, max(offset - limit, 0))
        if offset + limit < len(rows):
            paging["next"] = page_url(request, offset + limit)
        return JsonResponse({"data": data, "paging": paging})

    return view


def save_list_status(kind: str):
    """PATCH {kind}/{id}/my_list_status: the form's values on the entry, created when the
    title is not on the list yet; the answer is the saved list status."""

    def view(request, media_id: int) -> JsonResponse:
        if request.content_type != "application/x-www-form-urlencoded":
            return error(400, "bad_request", "invalid content type")
        form = form_body(request)
        if form is None:
            return error(400, "bad_request", "invalid q")
        title = lists.find_title(lists.MAL, kind, media_id)
        if title is None:
            return error(404, "not_found")
        values = {}
        if "status" in form:
            if form["status"] not in lists.STATUSES[lists.MAL, kind]:
                return error(400, "bad_request", "invalid status")
            values["status"] = form["status"]
        if "score" in form:
            score = whole(form["score"], 0)
            if score is None or score > 10:
                return error(400, "bad_request", "invalid score")
            values["score"] = score
        if client.PROGRESS_FIELD[kind] in form:
            progress = whole(form[client.PROGRESS_FIELD[kind]], 0)
            if progress is None or progress > MAX_COUNT:
                return error(400, "bad_request", f"invalid {client.PROGRESS_FIELD[kind]}")
            values["progress"] = progress
        if REPEATING[kind] in form:
            if form[REPEATING[kind]] not in BOOLEANS:
                return error(400, "bad_request", f"invalid {REPEATING[kind]}")
            values["repeating"] = BOOLEANS[form[REPEATING[kind]]]
        row = lists.list_entries(lists.MAL, kind).filter(media_id=media_id).first()
        if row is None:  # MAL adds the title as planned unless told otherwise
            row = lists.new_entry(lists.MAL, title, score=0,
                                  status=lists.STATUSES[lists.MAL, kind][-1])
        row = lists.entry_save(row, **values)
        extra = ({"priority": 0, "num_times_rewatched": 0, "rewatch_value": 0}
                 if kind == "anime" else
                 {"priority": 0, "num_times_reread": 0, "reread_value": 0})
        return JsonResponse({**list_status(row), **extra, "tags": [], "comments": ""})

    return view


urlpatterns = [
    path(client.ME, mal_view(me)),
    path(client.ANIME_LIST, mal_view(user_list("anime"))),
    path(client.MANGA_LIST, mal_view(user_list("manga"))),
    path("anime/<int:media_id>/my_list_status",
         mal_view(save_list_status("anime"), allowed_methods=("PATCH",))),
    path("manga/<int:media_id>/my_list_status",
         mal_view(save_list_status("manga"), allowed_methods=("PATCH",))),
]
