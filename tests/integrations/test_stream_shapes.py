"""The engine with the wider contract: a GraphQL POST pass resumes from its checkpointed body,
segments discovered at run time, an integer-epoch cursor sent as the since parameter, and a
checkpoint of the older format that is not resumed."""

import pytest
from django.utils import timezone
from responses import matchers

from consent.purposes import MATCHING
from consent.services import consent_set
from integrations.auth import Bearer
from integrations.cursors import EpochCursor
from integrations.models import Connection, ExternalItem, StreamState, SyncRun
from integrations.pagination import CursorParamPaginator, GraphQLPageInfoPaginator, NextUrlPaginator
from integrations.providers import registry
from integrations.providers.base import MappedItem, Provider, Stream
from integrations.sync import sync_execute, sync_request
from tests.factories import make_connection, make_user

API = "https://api.shapes.test/"
QUERY = "query ($page: Int, $perPage: Int) { Page(page: $page) { pageInfo { hasNextPage } } }"


def map_row(record, segment):
    return MappedItem(external_id=str(record["id"]), title=str(record.get("name", record["id"])),
                      attrs={"list": segment.get("list", "")})


def discover_lists(client, connection):
    return [{"list": name} for name in client.get_json("lists")["names"]]


GRAPHQL = Stream(
    name="entries", label="Entries", kind="entry", purposes=(MATCHING,), path="graphql",
    method="POST", json={"query": QUERY, "variables": {}}, map_record=map_row,
    # Paths inside the answer's "data".
    paginator=GraphQLPageInfoPaginator(records_path="Page.rows", page_info_path="Page.pageInfo",
                                       per_page=2),
)
LISTS = Stream(
    name="lists", label="Lists", kind="list_item", purposes=(MATCHING,), path="lists/{list}/items",
    segments=discover_lists, map_record=map_row, paginator=NextUrlPaginator(limit=10),
)
CHARGES = Stream(
    name="charges", label="Charges", kind="charge", purposes=(MATCHING,), path="charges",
    map_record=map_row, paginator=CursorParamPaginator(limit=2), incremental=True,
    cursor=EpochCursor("created"), since_param="created[gte]",
)


class Shapes(Provider):
    slug, name, description = "shapes", "Shapes", "A test-only provider of several shapes."
    auth = Bearer()
    api_base_url = API
    streams = (GRAPHQL,)


@pytest.fixture
def shapes(monkeypatch, db, no_sleep):
    provider = Shapes()
    monkeypatch.setitem(registry.PROVIDERS, provider.slug, provider)
    monkeypatch.setattr("integrations.sync.enqueue_many", lambda func, batch: None)
    user = make_user()
    consent_set(user=user, purpose=MATCHING, granted=True)
    connection = make_connection(user, "shapes", access_token="", refresh_token="",
                                 expires_in=None, secret='{"token": "tok-shapes"}')
    return provider, connection


def use_streams(monkeypatch, provider, *streams):
    monkeypatch.setattr(type(provider), "streams", streams)


def sync(connection, *, full=True) -> SyncRun:
    Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL, full=full)
    return sync_execute(run_id=run.pk)


def graphql_page(page, rows, more):
    return {"data": {"Page": {"pageInfo": {"hasNextPage": more, "currentPage": page},
                              "rows": rows}}}


def test_a_killed_graphql_pass_resumes_with_the_checkpointed_body(shapes, mocked_responses):
    _, connection = shapes
    first = mocked_responses.post(API + "graphql", json=graphql_page(1, [{"id": 1}, {"id": 2}],
                                                                     True),
                                  match=[matchers.json_params_matcher(
                                      {"variables": {"page": 1, "perPage": 2}},
                                      strict_match=False)])
    mocked_responses.post(API + "graphql", status=503,
                          match=[matchers.json_params_matcher({"variables": {"page": 2}},
                                                              strict_match=False)])
    assert sync(connection).status == SyncRun.Status.PARTIAL  # page 1 kept, page 2 failed
    saved = StreamState.objects.get(stream="entries").cursor["checkpoint"]["request"]
    assert saved["method"] == "POST"
    assert saved["json"] == {"query": QUERY, "variables": {"page": 2, "perPage": 2}}

    mocked_responses.reset()
    second = mocked_responses.post(
        API + "graphql", json=graphql_page(2, [{"id": 3}], False),
        match=[matchers.json_params_matcher({"query": QUERY,
                                             "variables": {"page": 2, "perPage": 2}})])
    run = sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert first.call_count == 1 and second.call_count == 1  # page 1 was not asked again
    assert sorted(ExternalItem.objects.values_list("external_id", flat=True)) == ["1", "2", "3"]


def test_segments_discovered_at_run_time_each_get_a_pass(shapes, mocked_responses, monkeypatch):
    provider, connection = shapes
    use_streams(monkeypatch, provider, LISTS)
    mocked_responses.get(API + "lists", json={"names": ["reading", "watching"]})
    for name, ids in (("reading", [1, 2]), ("watching", [3])):
        mocked_responses.get(API + f"lists/{name}/items",
                             json={"items": [{"id": i} for i in ids], "next": None})

    assert sync(connection).status == SyncRun.Status.SUCCEEDED
    rows = dict(ExternalItem.objects.values_list("external_id", "attrs__list"))
    assert rows == {"1": "reading", "2": "reading", "3": "watching"}


@pytest.mark.parametrize("answer", [{"names": "not a list"}, {"names": [{"x": 1}]}])
def test_discovered_segments_are_checked_like_provider_data(shapes, mocked_responses,
                                                            monkeypatch, answer):
    provider, connection = shapes
    use_streams(monkeypatch, provider, LISTS)

    def bad_lists(client, connection):
        names = client.get_json("lists")["names"]
        return names if isinstance(names, list) else [names]

    monkeypatch.setattr(type(provider), "streams", (Stream(**{
        **{f: getattr(LISTS, f) for f in LISTS.__dataclass_fields__}, "segments": bad_lists}),))
    mocked_responses.get(API + "lists", json=answer)
    run = sync(connection)
    assert run.status == SyncRun.Status.FAILED
    assert not ExternalItem.objects.exists()


def test_an_epoch_cursor_is_kept_as_a_number_and_sent_as_the_since_parameter(
        shapes, mocked_responses, monkeypatch):
    provider, connection = shapes
    use_streams(monkeypatch, provider, CHARGES)
    mocked_responses.get(API + "charges", json={"data": [{"id": "ch_2", "created": 1700000200},
                                                         {"id": "ch_1", "created": 1700000100}],
                                                "has_more": True},
                         match=[matchers.query_param_matcher({"limit": "2"})])
    mocked_responses.get(API + "charges", json={"data": [{"id": "ch_0", "created": 99}],
                                                "has_more": False},
                         match=[matchers.query_param_matcher({"limit": "2",
                                                              "starting_after": "ch_1"})])
    assert sync(connection).status == SyncRun.Status.SUCCEEDED
    assert StreamState.objects.get(stream="charges").cursor["since"] == 1700000200

    newer = mocked_responses.get(API + "charges", json={"data": [], "has_more": False},
                                 match=[matchers.query_param_matcher(
                                     {"limit": "2", "created[gte]": "1700000200"})])
    run = sync(connection, full=False)
    assert run.status == SyncRun.Status.SUCCEEDED and run.mode == SyncRun.Mode.INCREMENTAL
    assert newer.call_count == 1


def test_a_checkpoint_of_the_older_format_is_not_resumed(shapes, mocked_responses):
    _, connection = shapes
    StreamState.objects.create(connection=connection, stream="entries", cursor={"checkpoint": {
        "mode": "full", "segment": 0, "url": API + "graphql?page=9", "params": {},
        "at": timezone.now().isoformat()}})
    mocked_responses.post(API + "graphql", json=graphql_page(1, [{"id": 1}], False),
                          match=[matchers.json_params_matcher({"variables": {"page": 1}},
                                                              strict_match=False)])
    assert sync(connection).status == SyncRun.Status.SUCCEEDED
    assert "checkpoint" not in StreamState.objects.get(stream="entries").cursor


@pytest.mark.parametrize("checkpoint", [
    {"mode": "incremental", "segment": 0, "since": "2026-01-01T00:00:00Z",  # not an epoch
     "max_seen": ["x"], "request": {"url": API + "charges", "params": {"limit": 2}}},
    {"mode": "sideways", "segment": 0, "request": None},
    {"mode": "full", "segment": "0", "request": None},
    {"mode": "full", "segment": -1, "request": None},
])
def test_a_checkpoint_that_does_not_fit_the_stream_never_crashes_the_pass(
        shapes, mocked_responses, monkeypatch, checkpoint):
    provider, connection = shapes
    use_streams(monkeypatch, provider, CHARGES)
    StreamState.objects.create(connection=connection, stream="charges", cursor={
        "since": "not an epoch", "checkpoint": {**checkpoint, "at": timezone.now().isoformat()}})
    mocked_responses.get(API + "charges", json={"data": [{"id": "ch_1", "created": 5}],
                                                "has_more": False})
    run = sync(connection, full=False)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert "created[gte]" not in mocked_responses.calls[-1].request.url
