"""SQL queries of every list endpoint of /api/v1/ at 1, 10 and 100 objects (target: equal).

The endpoints come from the OpenAPI schema: every GET whose answer is a page (``results``)
and whose path takes no parameter or only the person's connection id. Each is called by a
person holding ``n`` of the objects that list shows, with a personal token, as a script would;
everyone measured before stays in the database, so a list that forgot to scope would grow.

One request warms up first (a token's first use records its last use), then one is counted.
``python -m benchmarks.api_list_queries`` runs this section alone and merges it into
benchmarks/results.json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count

SIZES = (1, 10, 100)
SECTION = "api_list_queries"

_people = count(1)


@dataclass(frozen=True)
class ListEndpoint:
    path: str  # the schema's template, e.g. /api/v1/connections/{id}/runs/
    query: dict[str, str]  # required query parameters, filled with their first choice

    @property
    def resource(self) -> str:
        """What it lists: the last literal segment (tokens, history, runs...)."""
        return [s for s in self.path.strip("/").split("/") if not s.startswith("{")][-1]

    def url(self, connection_id: int | None) -> str:
        return re.sub(r"\{[^}]+\}", str(connection_id), self.path)


def list_endpoints(schema: dict) -> list[ListEndpoint]:
    """The schema's paged GET operations without path parameters, or with one (a connection
    id under /connections/)."""
    found = []
    for path, item in schema["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        params = operation.get("parameters", [])
        in_path = [p for p in params if p["in"] == "path"]
        if len(in_path) > 1 or (in_path and not path.startswith("/api/v1/connections/{")):
            continue
        if not _is_page(schema, operation):
            continue
        query = {p["name"]: p["schema"]["enum"][0] for p in params
                 if p["in"] == "query" and p.get("required") and "enum" in p.get("schema", {})}
        found.append(ListEndpoint(path=path, query=query))
    return found


def _is_page(schema: dict, operation: dict) -> bool:
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    body = content.get("application/json", {}).get("schema", {})
    ref = body.get("$ref", "")
    if ref:
        body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return "results" in body.get("properties", {})


# --- seeders: give a person ``n`` of what one list shows --------------------------------------

def _person():
    from django.contrib.auth import get_user_model

    i = next(_people)
    return get_user_model().objects.create_user(
        username=f"apibench{i}", email=f"apibench{i}@example.com", password="bench-password-0")


def _connection(user, provider: str = "sandbox"):
    from django.utils import timezone

    from integrations.models import Connection, Credential

    connection = Connection.objects.create(
        user=user, provider=provider, external_account_id=f"{provider}-{user.pk}",
        account_label=f"{provider} account", next_sync_at=timezone.now())
    Credential.objects.create(connection=connection, access_token="bench-access-token",
                              token_type="Bearer", fingerprint="0000")
    return connection


def _providers(n: int) -> list[str]:
    """``n`` provider slugs for one person's connections: the catalog's first, then slugs of
    providers no longer installed (a person may hold such connections, and the lists show
    them); the caller reports how many were real."""
    from integrations.providers.registry import PROVIDERS

    slugs = list(PROVIDERS)
    return slugs[:n] + [f"retired{i}" for i in range(max(0, n - len(slugs)))]


def seed_connections(user, n: int):
    connections = [_connection(user, slug) for slug in _providers(n)]
    return connections[0]


def seed_runs(user, n: int):
    from integrations.models import SyncRun

    connection = _connection(user)
    SyncRun.objects.bulk_create([
        SyncRun(connection=connection, trigger="manual", status="succeeded", fetched=i)
        for i in range(n)
    ])
    return connection


def seed_items(user, n: int):
    from integrations.models import ExternalItem

    connection = _connection(user)
    ExternalItem.objects.bulk_create([
        ExternalItem(connection=connection, kind="track", external_id=f"t{i}",
                     title=f"Track {i}", attrs={"genres": ["rock"]}, content_hash="h")
        for i in range(n)
    ])
    return connection


def seed_actions(user, n: int):
    from django.utils import timezone

    from integrations.models import ActionRun

    connection = _connection(user)
    ActionRun.objects.bulk_create([
        ActionRun(connection=connection, action="add_track", status="succeeded",
                  idempotency_key=f"k{i}", summary=f"done {i}", finished_at=timezone.now())
        for i in range(n)
    ])
    return connection


def seed_declared_actions(user, n: int):
    """The actions a provider declares: their number is the provider's, not the seed's."""
    return _connection(user, "telegram")


def seed_tokens(user, n: int):
    """Through the model: above 20 (the per-person limit of api_token_create) too."""
    from datetime import timedelta

    from integrations.models import ApiToken

    for i in range(n - 1):  # the measuring client's own token is the n-th
        ApiToken.objects.create(user=user, expiry=timedelta(days=30), name=f"script {i}")
    return None


def seed_consent_history(user, n: int):
    from consent.models import ConsentEvent
    from consent.purposes import MATCHING

    ConsentEvent.objects.bulk_create([
        ConsentEvent(user=user, provider="", purpose=MATCHING, granted=i % 2 == 0,
                     source=ConsentEvent.Source.API, policy_version="bench")
        for i in range(n)
    ])
    return None


def seed_interests(user, n: int):
    from consent.purposes import PURPOSES
    from consent.services import consent_set
    from integrations.models import Interest, UserInterest

    connection = _connection(user)
    interests = Interest.objects.bulk_create(
        [Interest(slug=f"bench:{user.pk}-{i}", label=f"Interest {i}", category="music")
         for i in range(n)])
    UserInterest.objects.bulk_create([
        UserInterest(user=user, interest=interest, connection=connection, purpose=purpose,
                     weight=1.0)
        for interest in interests for purpose in PURPOSES
    ])
    for purpose in PURPOSES:
        consent_set(user=user, purpose=purpose, granted=True)
    return connection


def seed_library(user, n: int):
    """``n`` anime entries, each linked to an item of the person's MyAnimeList connection
    and with a conflict (both are shown on each entry)."""
    from integrations.models import ExternalItem
    from library.models import LibraryConflict, LibraryEntry, MediaTitle

    connection = _connection(user, "myanimelist")
    titles = MediaTitle.objects.bulk_create([
        MediaTitle(kind="anime", titles={"en": f"Anime {i}"}) for i in range(n)])
    entries = LibraryEntry.objects.bulk_create([
        LibraryEntry(user=user, title=title, status="current", progress=i, score=80)
        for i, title in enumerate(titles)])
    ExternalItem.objects.bulk_create([
        ExternalItem(connection=connection, kind="anime", external_id=f"a{i}",
                     title=f"Anime {i}", attrs={"status": "watching"}, content_hash="h",
                     library_entry=entry)
        for i, entry in enumerate(entries)])
    LibraryConflict.objects.bulk_create([
        LibraryConflict(entry=entry, field="score", local_value=80, remote_value=90,
                        winner="remote", provider="myanimelist")
        for entry in entries])
    return None


# Lists whose length is declared by the code (the catalog, a provider's actions), whatever the
# person holds: their query count is still measured, their length not compared with the seed.
FIXED_LENGTH = frozenset({"providers", "actions"})

# What each list shows, by the last literal segment of its path. A list endpoint added
# without a seeder here is reported, and fails tests/api/test_query_counts.py.
def seed_notices(user, n: int):
    """``n`` notices about one connection (its id is shown on each)."""
    from django.utils import timezone

    from notices.models import Notice

    connection = _connection(user)
    Notice.objects.bulk_create([
        Notice(user=user, connection=connection, provider=connection.provider, kind="failing",
               title=f"Failing {i}", body="down", created_at=timezone.now())
        for i in range(n)
    ])
    return None


SEEDERS: dict[str, Callable] = {
    "connections": seed_connections,
    "providers": seed_connections,  # the catalog is fixed; the person's connections vary
    "runs": seed_runs,
    "items": seed_items,
    "actions": seed_declared_actions,
    "action-runs": seed_actions,
    "tokens": seed_tokens,
    "history": seed_consent_history,
    "interests": seed_interests,
    "library": seed_library,  # /library/: entries
    "conflicts": seed_library,  # /library/conflicts/: one per entry
    "notices": seed_notices,
}


@dataclass(frozen=True)
class Measurement:
    queries: int
    shown: int  # results on the first page


def measure(endpoint: ListEndpoint, n: int) -> Measurement:
    """Seed a new person with ``n`` objects for ``endpoint`` and count one request's queries."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from integrations.api_tokens import api_token_create

    user = _person()
    _, plain = api_token_create(user=user, name="bench")  # first: seed_tokens passes the limit
    owner_connection = SEEDERS[endpoint.resource](user, n)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    url = endpoint.url(owner_connection.pk if owner_connection else None)
    client.get(url, endpoint.query)  # warm-up: the token's first use is recorded
    with CaptureQueriesContext(db) as ctx:
        response = client.get(url, endpoint.query)
    if response.status_code != 200:
        raise AssertionError(f"{url} answered {response.status_code}: {response.content[:200]}")
    return Measurement(queries=len(ctx.captured_queries),
                       shown=len(json.loads(response.content)["results"]))


def run() -> dict:
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    schema = json.loads(OpenApiJsonRenderer().render(
        SchemaGenerator().get_schema(request=None, public=True)))
    results: dict[str, dict] = {}
    for endpoint in list_endpoints(schema):
        if endpoint.resource not in SEEDERS:
            results[endpoint.path] = {"error": f"no seeder for {endpoint.resource!r}"}
            continue
        counts, shown = {}, {}
        for size in SIZES:
            found = measure(endpoint, size)
            counts[size], shown[size] = found.queries, found.shown
        results[endpoint.path] = {"queries": counts, "shown": shown}
    return results


def table(results: dict) -> str:
    lines = ["| list endpoint | " + " | ".join(f"{s} obj." for s in SIZES)
             + " | equal | shown on the first page |",
             "|---|" + "---|" * (len(SIZES) + 2)]
    for path, found in results.items():
        if "error" in found:
            lines.append(f"| `GET {path}` | " + " | ".join("-" for _ in SIZES)
                         + f" | {found['error']} | |")
            continue
        values = [found["queries"][s] for s in SIZES]
        shown = " / ".join(str(found["shown"][s]) for s in SIZES)
        lines.append(f"| `GET {path}` | " + " | ".join(map(str, values))
                     + f" | {'yes' if len(set(values)) == 1 else 'NO'} | {shown} |")
    return "\n".join(lines)


def main() -> int:
    """This section alone, merged into benchmarks/results.json."""
    from benchmarks.__main__ import run_alone

    return run_alone(SECTION, run, table)


if __name__ == "__main__":
    raise SystemExit(main())
