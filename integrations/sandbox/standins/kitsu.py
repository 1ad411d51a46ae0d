"""A stand-in of Kitsu's API for the demo: the password grant (and its refresh) at the token
URL's own path, ``users?filter[self]=true``, library-entries as JSON:API pages (``include``
of the media, its categories and mappings, ``sort``, ``page[limit]``/``page[offset]`` with
absolute ``links.next``) and the PATCH of one library entry, which changes the demo account's
library (anime_lists.py) so the next GET shows it.

Only the demo account signs in: DEMO_EMAIL (or its slug) with DEMO_PASSWORD, given in the
README. Any bearer token of the shape the token endpoint issues is that account's. Kitsu
documents no rate-limit headers and none are sent (PROVIDERS.md 6)."""

import re
import secrets
from urllib.parse import urlencode, urlsplit

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations import clock
from integrations.providers.kitsu import client

from ..guards import sandbox_required
from . import anime_lists as lists
from .gate import form_body, json_body, secret_matches, stand_in_view

# Public on purpose: the demo's README gives them to whoever runs the demo.
DEMO_EMAIL = lists.KITSU_ACCOUNT["email"]
DEMO_PASSWORD = "kitsu-demo-password-2026"
TOKEN_SHAPE = r"[0-9a-f]{64}"
KEY = re.compile(rf"Bearer {TOKEN_SHAPE}")
TOKEN_PATH = urlsplit(client.TOKEN_URL).path.lstrip("/")
TOKEN_LIFETIME = 30 * 86400
JSON_API = client.MEDIA_TYPE
DEFAULT_LIMIT, MAX_LIMIT = 10, 500
RELATIONS = ("anime", "manga")
INCLUDABLE = {f"{kind}{sub}" for kind in RELATIONS for sub in ("", ".categories", ".mappings")}
SORTS = {"id": lambda row: row.entry_id, "updatedAt": lambda row: row.updated_at}
WRITABLE = {"status", "progress", "ratingTwenty", "reconsuming", "private", "notes"}
INVALID_GRANT = ("The provided authorization grant is invalid, expired, revoked, does not "
                 "match the redirection URI used in the authorization request, or was issued "
                 "to another client.")


def api_error(status: int, title: str, detail: str, code: str | None = None,
              pointer: str | None = None) -> JsonResponse:
    found = {"title": title, "detail": detail, "code": code or str(status), "status": str(status)}
    if pointer:
        found["source"] = {"pointer": pointer}
    return JsonResponse({"errors": [found]}, status=status, content_type=JSON_API)


def document(body: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status, content_type=JSON_API)


kitsu_view = stand_in_view(
    KEY, lambda: api_error(401, "Invalid token", "The access token is invalid"),
    lambda request: {}, methods=("GET", "PATCH"))


# -- the token endpoint (Doorkeeper: plain JSON, OAuth error bodies) ----------------------------

def oauth_error(error: str, description: str, status: int = 400) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def new_tokens() -> dict:
    return {"access_token": secrets.token_hex(32), "created_at": int(clock.time()),
            "expires_in": TOKEN_LIFETIME, "refresh_token": secrets.token_hex(32),
            "scope": "public", "token_type": "bearer"}


def tokens(body: dict) -> JsonResponse:
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def password_grant(username: str, password: str) -> dict | None:
    """The token endpoint's answer to a password grant: new tokens for the demo account's
    e-mail (or slug) and password, None for anything else. setup_demo calls it directly, as
    the server is not up yet when it runs."""
    known = username.strip().lower() in (DEMO_EMAIL, lists.KITSU_ACCOUNT["slug"])
    if secret_matches(password, DEMO_PASSWORD) and known:
        return new_tokens()
    return None


@csrf_exempt
@sandbox_required
@require_POST
def token(request) -> JsonResponse:
    """Kitsu takes the grant as JSON or as a form."""
    if request.content_type == "application/json":
        body = json_body(request)
        if not isinstance(body, dict):
            return oauth_error("invalid_request", "The request body is not a JSON object.")
        body = {name: value for name, value in body.items() if isinstance(value, str)}
    else:
        form = form_body(request)
        if form is None:
            return oauth_error("invalid_request", "The request has too many parameters.")
        body = form.dict()
    grant = body.get("grant_type")
    if grant == "password":
        granted = password_grant(body.get("username", ""), body.get("password", ""))
        return tokens(granted) if granted else oauth_error("invalid_grant", INVALID_GRANT)
    if grant == "refresh_token":
        if not re.fullmatch(TOKEN_SHAPE, body.get("refresh_token", "")):
            return oauth_error("invalid_grant", INVALID_GRANT)
        return tokens(new_tokens())
    if not grant:
        return oauth_error("invalid_request", "The request is missing a required parameter.")
    return oauth_error("unsupported_grant_type",
                       "The authorization grant type is not supported by the server.")


# -- resources --------------------------------------------------------------------------------

def url(request, path_: str) -> str:
    return request.build_absolute_uri(request.path[:request.path.rindex("/stand-ins/kitsu/")]
                                      + f"/stand-ins/kitsu/{path_}")


def users(request) -> JsonResponse:
    me = lists.KITSU_ACCOUNT
    found = [{"id": me["id"], "type": "users", "links": {"self": url(request, f"users/{me['id']}")},
              "attributes": {"name": me["name"], "slug": me["slug"],
                             "createdAt": "2019-04-01T10:00:00.000Z",
                             "ratingSystem": "regular", "sfwFilter": True}}]
    if request.GET.get("filter[self]") != "true":
        found = []  # only the token's own user is listed here
    first = url(request, "users") + "?" + urlencode({**request.GET.dict(), "page[limit]": "10",
                                                     "page[offset]": "0"})
    return document({"data": found, "meta": {"count": len(found)},
                     "links": {"first": first, "last": first}})


def relationship(request, owner: str, name: str, data=None, *, with_data: bool) -> dict:
    found = {"links": {"self": url(request, f"{owner}/relationships/{name}"),
                       "related": url(request, f"{owner}/{name}")}}
    if with_data:
        found["data"] = data
    return found


def entry_resource(request, row, include: set[str]) -> dict:
    owner = f"library-entries/{row.entry_id}"
    rating = row.score
    return {
        "id": str(row.entry_id), "type": "libraryEntries",
        "links": {"self": url(request, owner)},
        "attributes": {
            "createdAt": lists.iso(lists.SEEDED_AT, millis=True),
            "updatedAt": lists.iso(row.updated_at, millis=True),
            "status": row.status, "progress": row.progress, "volumesOwned": 0,
            "reconsuming": row.repeating, "reconsumeCount": 0, "notes": None,
            "private": False, "reactionSkipped": "unskipped",
            "progressedAt": lists.iso(row.updated_at, millis=True),
            "startedAt": None, "finishedAt": None,
            "rating": f"{rating / 2:.1f}" if rating else None, "ratingTwenty": rating},
        "relationships": {
            kind: relationship(request, owner, kind,
                               {"type": kind, "id": str(row.media_id)} if row.kind == kind
                               else None, with_data=kind in include)
            for kind in RELATIONS},
    }


def mapping_id(row) -> str:
    return str(row.media_id * 10 + (1 if row.kind == "anime" else 2))


def media_resources(request, row, include: set[str]) -> list[dict]:
    """The entry's media and, as asked, its categories and mappings (JSON:API ``included``)."""
    kind, owner = row.kind, f"{row.kind}/{row.media_id}"
    title = lists.find_title(lists.KITSU, kind, row.media_id)
    categories = [{"type": "categories", "id": str(lists.CATEGORY_IDS[name])}
                  for name in row.genres if name in lists.CATEGORY_IDS]
    mappings = [{"type": "mappings", "id": mapping_id(row)}] if row.mal_id else []
    titles = {"en": row.title_en, "en_jp": row.title, "ja_jp": row.title_ja}
    media = {
        "id": str(row.media_id), "type": kind, "links": {"self": url(request, owner)},
        "attributes": {
            "slug": re.sub(r"[^a-z0-9]+", "-", row.title.lower()).strip("-"),
            "canonicalTitle": row.title_en or row.title,
            "titles": {key: value for key, value in titles.items() if value},
            "subtype": title.subtype if title else "TV",
            "episodeCount" if kind == "anime" else "chapterCount": row.total},
        "relationships": {
            "categories": relationship(request, owner, "categories", categories,
                                       with_data=f"{kind}.categories" in include),
            "mappings": relationship(request, owner, "mappings", mappings,
                                     with_data=f"{kind}.mappings" in include)},
    }
    found = [media]
    if f"{kind}.categories" in include:
        found += [{"id": ref["id"], "type": "categories",
                   "attributes": {"title": name, "slug": name.lower().replace(" ", "-")}}
                  for ref, name in zip(categories, row.genres, strict=False)]
    if f"{kind}.mappings" in include and row.mal_id:
        found.append({"id": mapping_id(row), "type": "mappings", "attributes": {
            "externalSite": f"myanimelist/{kind}", "externalId": str(row.mal_id)}})
    return found


def included(request, rows, include: set[str]) -> list[dict]:
    found, seen = [], set()
    for row in rows:
        if row.kind not in include:
            continue
        for resource in media_resources(request, row, include):
            if (resource["type"], resource["id"]) not in seen:
                seen.add((resource["type"], resource["id"]))
                found.append(resource)
    return found


def include_of(request) -> set[str] | JsonResponse:
    include = {name for name in request.GET.get("include", "").split(",") if name}
    unknown = sorted(include - INCLUDABLE)
    if unknown:
        return api_error(400, "Invalid field",
                         f"{unknown[0][:60]} is not a valid relationship of libraryEntries",
                         "112")
    return include


def page_link(request, limit: int, offset: int) -> str:
    params = [(name, value) for name, value in request.GET.items() if not name.startswith("page[")]
    params += [("page[limit]", str(limit)), ("page[offset]", str(offset))]
    return url(request, "library-entries") + "?" + urlencode(params)


def whole(value: str | None, default: int) -> int | None:
    if value is None:
        return default
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def library_entries(request) -> JsonResponse:
    params = request.GET
    include = include_of(request)
    if isinstance(include, JsonResponse):
        return include
    limit = whole(params.get("page[limit]"), DEFAULT_LIMIT)
    offset = whole(params.get("page[offset]"), 0)
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        return api_error(400, "Invalid page value", f"{params.get('page[limit]', '')[:20]} is "
                         "not a valid value for limit page parameter.", "118")
    if offset is None:
        return api_error(400, "Invalid page value", f"{params.get('page[offset]', '')[:20]} "
                         "is not a valid value for offset page parameter.", "118")
    sort = params.get("sort", "id")
    if sort.lstrip("-") not in SORTS:
        return api_error(400, "Invalid sort criteria", f"{sort[:60]} is not a valid sort "
                         "criteria for libraryEntries", "114")
    kind = params.get("filter[kind]")
    rows = []
    # Only the demo account has a library; another user's filter finds nothing.
    if params.get("filter[userId]") == lists.KITSU_ACCOUNT["id"] and kind in (None, *RELATIONS):
        rows = sorted(lists.list_entries(lists.KITSU, kind), key=SORTS[sort.lstrip("-")],
                      reverse=sort.startswith("-"))
    shown = rows[offset:offset + limit]
    last = max(len(rows) - 1, 0) // limit * limit
    links = {"first": page_link(request, limit, 0)}
    if offset > 0:
        links["prev"] = page_link(request, limit, max(offset - limit, 0))
    if offset + limit < len(rows):
        links["next"] = page_link(request, limit, offset + limit)
    links["last"] = page_link(request, limit, last)
    body = {"data": [entry_resource(request, row, include) for row in shown]}
    if include:
        body["included"] = included(request, shown, include)
    return document({**body, "meta": {"count": len(rows)}, "links": links})


def entry_values(attributes: dict) -> dict | JsonResponse:
    """The PATCH's attributes as StandInListEntry values, or Kitsu's refusal."""
    unknown = sorted(set(attributes) - WRITABLE)
    if unknown:
        return api_error(400, "Param not allowed", f"{unknown[0][:60]} is not allowed.", "105")
    values = {}
    if "status" in attributes:
        if attributes["status"] not in lists.STATUSES[lists.KITSU, "anime"]:
            return api_error(422, "is not included in the list",
                             "status - is not included in the list", "100",
                             "/data/attributes/status")
        values["status"] = attributes["status"]
    if "progress" in attributes:
        progress = attributes["progress"]
        if type(progress) is not int or not 0 <= progress <= 100_000:
            return api_error(422, "must be greater than or equal to 0",
                             "progress - must be greater than or equal to 0", "100",
                             "/data/attributes/progress")
        values["progress"] = progress
    if "ratingTwenty" in attributes:
        rating = attributes["ratingTwenty"]
        if rating is not None and (type(rating) is not int or not 2 <= rating <= 20):
            return api_error(422, "must be between 2 and 20",
                             "ratingTwenty - must be between 2 and 20", "100",
                             "/data/attributes/ratingTwenty")
        values["score"] = rating
    if "reconsuming" in attributes:
        if not isinstance(attributes["reconsuming"], bool):
            return api_error(422, "is not a boolean", "reconsuming - is not a boolean", "100",
                             "/data/attributes/reconsuming")
        values["repeating"] = attributes["reconsuming"]
    return values


def update_entry(request, entry_id: int) -> JsonResponse:
    if request.content_type != JSON_API:
        return api_error(415, "Unsupported media type", "All requests that create or update "
                         f"must use the '{JSON_API}' Content-Type.", "415")
    body = json_body(request)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or data.get("type") != "libraryEntries":
        return api_error(400, "Invalid resource", "The request must carry a libraryEntries "
                         "resource in data.", "101")
    if data.get("id") != str(entry_id):
        return api_error(400, "Key is not included in URL",
                         f"The URL does not support the key {str(data.get('id'))[:20]}", "113")
    attributes = data.get("attributes", {})
    if not isinstance(attributes, dict):
        return api_error(400, "Invalid resource", "attributes must be an object.", "101")
    row = lists.list_entries(lists.KITSU).filter(entry_id=entry_id).first()
    if row is None:
        return api_error(404, "Record not found",
                         f"The record identified by {entry_id} could not be found.", "404")
    values = entry_values(attributes)
    if isinstance(values, JsonResponse):
        return values
    include = include_of(request)
    if isinstance(include, JsonResponse):
        return include
    row = lists.entry_save(row, **values)
    body = {"data": entry_resource(request, row, include)}
    if include:
        body["included"] = included(request, [row], include)
    return document(body)


urlpatterns = [
    path(TOKEN_PATH, token),
    path(client.USERS, kitsu_view(users)),
    path(client.LIBRARY_ENTRIES, kitsu_view(library_entries)),
    path(f"{client.LIBRARY_ENTRIES}/<int:entry_id>",
         kitsu_view(update_entry, allowed_methods=("PATCH",))),
]
