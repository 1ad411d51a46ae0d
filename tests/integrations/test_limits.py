"""integrations/limits.py, and the engine applying each stream's declared limits."""

import dataclasses
import json

import pytest

from consent.services import consent_set
from integrations.limits import ItemLimits, attrs_size, limit_item
from integrations.models import Connection, ExternalItem, SyncRun
from integrations.providers.base import MappedItem
from integrations.providers.registry import get_provider
from integrations.sync import sync_execute, sync_request
from tests.factories import make_connection, make_user

LIMITS = ItemLimits(max_string_length=10, max_list_length=3, max_title_length=5,
                    max_attrs_bytes=1000)


def test_strings_lists_objects_and_the_title_are_cut():
    item = MappedItem("id-1", "A long title", {
        "name": "x" * 50, "tags": [f"t{i}" for i in range(10)],
        "nested": {f"k{i}": {"deep": "y" * 50} for i in range(10)},
    })
    limited = limit_item(item, LIMITS)
    assert limited.title == "A lon"
    assert limited.attrs["name"] == "x" * 10
    assert limited.attrs["tags"] == ["t0", "t1", "t2"]
    assert limited.attrs["nested"] == {f"k{i}": {"deep": "y" * 10} for i in range(3)}


def test_what_no_database_can_store_is_cleaned():
    item = MappedItem("id-1", "Ti\x00tle", {"a": "b\x00c", "s": "\ud800x", "n": float("nan"),
                                            "deep": [[[[[[[[[["z"]]]]]]]]]]})
    limited = limit_item(item, ItemLimits())
    assert limited.title == "Title" and limited.attrs["a"] == "bc"
    assert limited.attrs["s"] == "?x" and limited.attrs["n"] is None
    json.dumps(limited.attrs, allow_nan=False).encode("utf-8")  # storable everywhere
    assert "z" not in json.dumps(limited.attrs)  # past MAX_DEPTH


def test_a_record_still_too_large_is_skipped():
    many_keys = MappedItem("id-1", "t", {f"key-{i}": "v" for i in range(100)})
    assert limit_item(many_keys, dataclasses.replace(LIMITS, max_list_length=100)) is None


@pytest.mark.parametrize("external_id", ["x" * 256, "a\x00b", "\ud800"])
def test_an_id_that_cannot_be_stored_as_it_is_skips_the_record(external_id):
    assert limit_item(MappedItem(external_id, "t", {}), ItemLimits()) is None


def test_within_limits_nothing_changes():
    item = MappedItem("id-1", "Title", {"genres": ["rock", "pop"], "n": 3, "ok": True})
    assert limit_item(item, ItemLimits()) == item


# --- in the engine: a 3 MB record ---------------------------------------------------------------

TRACKS = "http://sandbox.test/sandbox/api/v1/me/tracks"
ARTISTS = "http://sandbox.test/sandbox/api/v1/me/top-artists"


def track(i: int, size: int = 0) -> dict:
    return {"id": f"trk_{i}", "title": "T" * (size or 5), "artist": "A" * (size or 5),
            "genres": ["g" * (size or 5)] * 10, "updated_at": "2026-01-01T00:00:00Z"}


@pytest.fixture
def connection(db, settings, monkeypatch):
    settings.THINKALIKE_SANDBOX = True
    monkeypatch.setattr("integrations.sync.enqueue_many", lambda func, batch: None)
    user = make_user()
    consent_set(user=user, purpose="matching", granted=True)
    return make_connection(user, "sandbox", external_id="listener")


def full_sync(connection) -> SyncRun:
    Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL, full=True)
    return sync_execute(run_id=run.pk)


def test_a_3_mb_record_is_stored_within_the_streams_limits(connection, mocked_responses):
    huge = track(1, size=300_000)
    assert len(json.dumps(huge)) > 3_000_000
    mocked_responses.get(TRACKS, json={"items": [huge, track(2)], "next": None})
    mocked_responses.get(ARTISTS, json={"items": [], "next": None})
    run = full_sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    stream = get_provider("sandbox").get_stream("tracks")
    row = ExternalItem.objects.get(external_id="trk_1")
    assert len(row.title) == stream.max_title_length
    assert row.attrs["artist"] == "A" * stream.max_string_length
    assert row.attrs["genres"] == ["g" * stream.max_string_length] * 10
    assert attrs_size(row.attrs) <= stream.max_attrs_bytes
    assert ExternalItem.objects.get(external_id="trk_2").attrs["artist"] == "AAAAA"


def test_a_record_over_the_cap_is_skipped_counted_and_keeps_what_was_stored(
        connection, mocked_responses, monkeypatch):
    provider = get_provider("sandbox")
    small = tuple(dataclasses.replace(s, max_attrs_bytes=2000) for s in provider.streams)
    monkeypatch.setattr(type(provider), "streams", small)
    ExternalItem.objects.create(connection=connection, kind="track", external_id="trk_1",
                                title="Before", attrs={"artist": "Before"}, content_hash="h")
    mocked_responses.get(TRACKS, json={"items": [track(1, size=300_000), track(2)],
                                       "next": None})
    mocked_responses.get(ARTISTS, json={"items": [], "next": None})
    run = full_sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.streams["tracks"]["skipped"] == 1 and run.streams["tracks"]["created"] == 1
    kept = ExternalItem.objects.get(external_id="trk_1")
    assert (kept.title, kept.attrs, kept.deleted_at) == ("Before", {"artist": "Before"}, None)


def test_nul_characters_and_lone_surrogates_are_stored_cleaned(connection, mocked_responses):
    # Escaped in JSON, as a provider would send them; PostgreSQL refuses both as they are.
    body = ('{"items": [{"id": "trk_1", "title": "Nul\\u0000 title \\ud800", '
            '"artist": "A\\u0000B", "genres": ["\\udfff"], "updated_at": "2026-01-01"}], '
            '"next": null}')
    mocked_responses.get(TRACKS, body=body, content_type="application/json")
    mocked_responses.get(ARTISTS, json={"items": [], "next": None})
    run = full_sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    row = ExternalItem.objects.get(external_id="trk_1")
    assert (row.title, row.attrs["artist"], row.attrs["genres"]) == ("Nul title ?", "AB", ["?"])
