"""The anime and manga library's merge and push (library/pull.py, library/push.py).

One person holds the same N titles on AniList, MyAnimeList and Kitsu (items as a pull stores
them, the same values in each service's terms). Measured, for N = 500 and 5,000:

* the first merge of the three services (link and reconcile): seconds, SQL queries per entry;
* an unchanged re-sync of the three: seconds, queries per entry, pushes made (target 0);
* a change on MyAnimeList to every entry: the merge passes it on as pushes to the other two;

and for 200 entries edited here (600 pushes), sending them through the update_entry actions
(each service's write mocked in-process with ``responses``): seconds and queries per push,
then the services answering our own writes back on the next pull: upstream writes (target 0).
``python -m benchmarks.library`` runs this section alone and merges it into
benchmarks/results.json.
"""

from __future__ import annotations

import json
import time
import uuid

from django.db import connection as db

SECTION = "library"
SIZES = (500, 5_000)
EDITED = 200
SERVICES = ("anilist", "myanimelist", "kitsu")


def _values(provider: str, i: int) -> dict:
    progress = i % 24
    return {
        "anilist": {"status": "CURRENT", "progress": progress, "score": 80},
        "myanimelist": {"status": "watching", "progress": progress, "score": 8},
        "kitsu": {"status": "current", "progress": progress, "score": 16,
                  "entry_id": str(900_000 + i)},
    }[provider]


def _seed(n: int):
    from django.contrib.auth import get_user_model

    from integrations.models import Connection, Credential, ExternalItem
    from integrations.redaction import fingerprint

    tag = uuid.uuid4().hex[:8]
    user = get_user_model().objects.create(username=f"lib-{tag}", email=f"lib-{tag}@example.com")
    connections = {}
    for provider in SERVICES:
        connection = Connection.objects.create(user=user, provider=provider,
                                               external_account_id=f"{provider}-{tag}")
        Credential.objects.create(connection=connection, access_token=f"AT-{provider}-{tag}",
                                  token_type="Bearer", fingerprint=fingerprint(f"AT-{tag}"))
        connections[provider] = connection
        base = 100_000 if provider == "kitsu" else 1
        ExternalItem.objects.bulk_create([ExternalItem(
            connection=connection, kind="anime", external_id=str(base + i), title=f"Title {i}",
            content_hash="h", attrs={"entry_id": None, "repeating": False,
                                     "updated_at": 1714550400, "mal_id": 1 + i,
                                     "titles": {"en": f"Title {i}"}, "genres": []}
            | _values(provider, i)) for i in range(n)], batch_size=1000)
    return user, connections


def _pulled(connection, change) -> None:
    """Store ``change(attrs)`` for every item of ``connection``, as a pull writes it."""
    from django.utils import timezone

    from integrations.models import ExternalItem

    items = list(ExternalItem.objects.filter(connection=connection))
    now = timezone.now()
    for item in items:
        item.attrs, item.last_seen_at = change(item.attrs), now
    ExternalItem.objects.bulk_update(items, ["attrs", "last_seen_at"], batch_size=1000)


def _timed(call) -> tuple[float, int, object]:
    """Seconds, SQL statements and the result of ``call()`` (counted by a wrapper: Django's
    query log keeps only the last 9,000)."""
    executed = 0

    def count(execute, sql, params, many, context):
        nonlocal executed
        executed += 1
        return execute(sql, params, many, context)

    with db.execute_wrapper(count):
        started = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - started
    return seconds, executed, result


def _merge_all(connections) -> list:
    from library.pull import library_pull_merge

    return [library_pull_merge(connection=c) for c in connections.values()]


def _merge_size(n: int) -> dict:
    from library.models import LibraryEntry, LibraryPush

    user, connections = _seed(n)
    first = _timed(lambda: _merge_all(connections))
    entries = LibraryEntry.objects.filter(user=user).count()
    again = _timed(lambda: _merge_all(connections))
    pushes_unchanged = LibraryPush.objects.filter(entry__user=user).count()
    # Every entry's progress moves on MyAnimeList (as its next pull would store it).
    _pulled(connections["myanimelist"], lambda attrs: {
        **attrs, "progress": attrs["progress"] + 1, "updated_at": attrs["updated_at"] + 3600})
    from library.pull import library_pull_merge

    changed = _timed(lambda: library_pull_merge(connection=connections["myanimelist"]))
    return {
        "entries": entries,
        "first_merge_s": round(first[0], 2),
        "first_merge_queries_per_entry": round(first[1] / n, 3),
        "unchanged_resync_s": round(again[0], 2),
        "unchanged_resync_queries_per_entry": round(again[1] / n, 3),
        "unchanged_resync_pushes": pushes_unchanged,
        "changed_merge_s": round(changed[0], 2),
        "changed_merge_queries_per_entry": round(changed[1] / n, 3),
        "changed_pushes": LibraryPush.objects.filter(entry__user=user).count(),
    }


def _push_round() -> dict:
    import responses

    from library.models import LibraryEntry, LibraryPush
    from library.push import library_push_send
    from library.services import library_entry_update

    user, connections = _seed(EDITED)
    _merge_all(connections)
    for entry in LibraryEntry.objects.filter(user=user):
        library_entry_update(entry=entry, values={"score": 90, "status": "completed"})
    pushes = list(LibraryPush.objects.filter(entry__user=user).select_related("entry__title"))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        _mock_services(mocked)
        sent = _timed(lambda: [library_push_send(push_id=p.pk) for p in pushes])
        writes = len(mocked.calls)
        states = {p.state for p in sent[2]}
        # The next pull of each service reads back what we wrote, in its own terms.
        for connection in connections.values():
            _pulled(connection, lambda attrs: {**attrs, "updated_at": attrs["updated_at"] + 7200})
        _merge_all(connections)
        waiting = LibraryPush.objects.filter(entry__user=user,
                                             state=LibraryPush.State.PENDING).count()
        resend = [library_push_send(push_id=p.pk) for p in LibraryPush.objects.filter(
            entry__user=user, state=LibraryPush.State.PENDING)]
        rewrites = len(mocked.calls) - writes
    return {"pushes": len(pushes), "states": sorted(states), "upstream_writes": writes,
            "send_s": round(sent[0], 2), "send_queries_per_push": round(sent[1] / len(pushes), 1),
            "after_readback_pending": waiting, "after_readback_upstream_writes": rewrites,
            "resent": len(resend)}


def _mock_services(mocked) -> None:
    import re
    from urllib.parse import parse_qs

    from integrations.providers.anilist import client as anilist
    from integrations.providers.kitsu import client as kitsu
    from integrations.providers.myanimelist import client as mal

    def anilist_save(request):
        variables = json.loads(request.body)["variables"]
        return 200, {}, json.dumps({"data": {"SaveMediaListEntry": {
            "id": 1, "mediaId": variables["mediaId"], "status": variables["status"],
            "progress": variables.get("progress"), "score": variables.get("scoreRaw")}}})

    def mal_save(request):
        body = {k: v[0] for k, v in parse_qs(request.body).items()}
        return 200, {}, json.dumps({"status": body["status"], "score": int(body.get("score", 0)),
                                    "num_episodes_watched": 0, "is_rewatching": False,
                                    "updated_at": "2026-11-29T10:00:00+00:00"})

    def kitsu_save(request):
        data = json.loads(request.body)["data"]
        return 200, {}, json.dumps({"data": {"id": data["id"], "type": "libraryEntries",
                                             "attributes": data["attributes"],
                                             "relationships": {}}})

    mocked.add_callback("POST", anilist.API_BASE, callback=anilist_save)
    mocked.add_callback("PATCH", re.compile(re.escape(mal.API_BASE) + r"anime/\d+/my_list_status"),
                        callback=mal_save)
    mocked.add_callback("PATCH", re.compile(re.escape(kitsu.API_BASE + kitsu.LIBRARY_ENTRIES)
                                            + r"/\d+"), callback=kitsu_save)


def run() -> dict:
    return {"sizes": {str(n): _merge_size(n) for n in SIZES}, "push": _push_round()}


def table(results: dict) -> str:
    lines = ["Library merge and push (three services, one person)",
             "| entries | first merge s | q/entry | unchanged re-sync s | q/entry | pushes "
             "| change on MAL s | q/entry | pushes made |",
             "|---|---|---|---|---|---|---|---|---|"]
    for n, row in results["sizes"].items():
        lines.append(
            f"| {n} | {row['first_merge_s']} | {row['first_merge_queries_per_entry']} "
            f"| {row['unchanged_resync_s']} | {row['unchanged_resync_queries_per_entry']} "
            f"| {row['unchanged_resync_pushes']} | {row['changed_merge_s']} "
            f"| {row['changed_merge_queries_per_entry']} | {row['changed_pushes']} |")
    push = results["push"]
    lines.append(
        f"Push: {push['pushes']} pushes ({EDITED} entries edited here) sent in "
        f"{push['send_s']} s, {push['send_queries_per_push']} queries each, "
        f"{push['upstream_writes']} upstream writes; after the services' answers were pulled "
        f"back: {push['after_readback_pending']} pushes pending, "
        f"{push['after_readback_upstream_writes']} upstream writes.")
    return "\n".join(lines)


def main() -> int:
    """This section alone, merged into benchmarks/results.json."""
    from benchmarks.__main__ import run_alone

    return run_alone(SECTION, run, table)


if __name__ == "__main__":
    raise SystemExit(main())
