"""The paginators beyond next-URL and page number: Link header, cursor parameter, GraphQL
pageInfo (page and Relay cursor), sync token. Each walks real-shaped pages (PROVIDERS.md), stops
on the last one, and turns hostile bodies into ProviderDataError, never a bare error."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.classify import Verdict, default
from integrations.exceptions import ProviderDataError
from integrations.links import MAX_LINK_HEADER, links, next_link
from integrations.pagination import (
    FOREIGN_NEXT,
    GRAPHQL_FAILED,
    GRAPHQL_PARTIAL,
    HUGE_LINK_HEADER,
    MAX_PAGE_TOKEN_LENGTH,
    MAX_SYNC_TOKEN_LENGTH,
    MORE_BUT_EMPTY,
    CursorParamPaginator,
    GraphQLCursorPaginator,
    GraphQLPageInfoPaginator,
    LinkHeaderPaginator,
    SyncTokenPaginator,
    graphql_errors,
)
from integrations.wire import ApiRequest, ApiResponse

GITHUB = "https://api.github.com/"
STRIPE = "https://api.stripe.com/v1/"
ANILIST = "https://graphql.anilist.co/"
GOOGLE = "https://www.googleapis.com/calendar/v3/"
QUERY = "query ($page: Int, $perPage: Int) { Page(page: $page, perPage: $perPage) { ... } }"


def walk(paginator, start, answers, base_url):
    """Feed ``answers`` (one ApiResponse per page) and return the requests made and the pages."""
    request, requests, pages = paginator.first(start), [], []
    for answer in answers:
        requests.append(request)
        page = paginator.parse(answer, request, base_url=base_url)
        pages.append(page)
        if page.next is None:
            break
        request = page.next
    return requests, pages


def ok(payload, **headers):
    return ApiResponse(200, headers, payload)


# -- Link header (GitHub) ---------------------------------------------------------------------

def starred(page):
    return f"<https://api.github.com/user/starred?per_page=100&page={page}>"


def test_link_header_walks_three_pages_and_stops_without_next():
    answers = [
        ok([{"id": 1}, {"id": 2}], Link=f'{starred(2)}; rel="next", {starred(3)}; rel="last"'),
        ok([{"id": 3}], Link=f'{starred(1)}; rel="prev", {starred(3)}; rel="next last"'),
        ok([{"id": 4}], Link=f'{starred(2)}; rel="prev", {starred(1)}; rel="first"'),
    ]
    requests, pages = walk(LinkHeaderPaginator(), ApiRequest("user/starred"), answers, GITHUB)
    assert requests[0].params == {"per_page": 100} and requests[0].url == "user/starred"
    assert [r.url for r in requests[1:]] == [starred(2)[1:-1], starred(3)[1:-1]]
    assert all(r.params == {} for r in requests[1:])  # the link carries them
    assert [r.number for r in requests] == [1, 2, 3]
    assert [[r["id"] for r in p.records] for p in pages] == [[1, 2], [3], [4]]
    assert pages[-1].next is None


def test_link_header_is_read_whatever_the_header_case():
    page = LinkHeaderPaginator().parse(ok([{"id": 1}], link=f'{starred(2)}; rel=next'),
                                       ApiRequest("user/starred"), base_url=GITHUB)
    assert page.next.url == starred(2)[1:-1]


def test_link_header_records_under_a_key():
    page = LinkHeaderPaginator(items_key="items").parse(
        ok({"items": [{"id": 1}]}, Link=f'{starred(2)}; rel="next"'), ApiRequest("search"),
        base_url=GITHUB)
    assert page.records == [{"id": 1}] and page.next is not None


def test_link_header_empty_page_ends_even_with_a_next_link():
    page = LinkHeaderPaginator().parse(ok([], Link=f'{starred(2)}; rel="next"'),
                                       ApiRequest("user/starred"), base_url=GITHUB)
    assert page.records == [] and page.next is None


@pytest.mark.parametrize("link", [
    '<https://evil.example/user/starred?page=2>; rel="next"',
    '<http://api.github.com/user/starred?page=2>; rel="next"',
    '<https://api.github.com:8443/user/starred?page=2>; rel="next"',
    '<//evil.example/x>; rel="next"',
    '<https://api.github.com@evil.example/x>; rel="next"',
])
def test_link_header_foreign_next_is_refused(link):
    with pytest.raises(ProviderDataError, match=FOREIGN_NEXT):
        LinkHeaderPaginator().parse(ok([{"id": 1}], Link=link), ApiRequest("user/starred"),
                                    base_url=GITHUB)


def test_link_header_relative_next_resolves_on_the_api_origin():
    page = LinkHeaderPaginator().parse(ok([{"id": 1}], Link='</user/starred?page=2>; rel=next'),
                                       ApiRequest("user/starred"), base_url=GITHUB)
    assert page.next.url == "https://api.github.com/user/starred?page=2"


def test_link_header_too_large_is_refused_not_cut_short():
    huge = f'{starred(2)}; rel="next", ' + ", ".join(["<https://api.github.com/x>; rel=a"] * 600)
    assert len(huge) > MAX_LINK_HEADER
    with pytest.raises(ProviderDataError, match=HUGE_LINK_HEADER):
        LinkHeaderPaginator().parse(ok([{"id": 1}], Link=huge), ApiRequest("user/starred"),
                                    base_url=GITHUB)


@pytest.mark.parametrize("payload", [{"id": 1}, [1, 2], "text", [{"id": 1}, None]])
def test_link_header_body_must_be_a_list_of_objects(payload):
    with pytest.raises(ProviderDataError):
        LinkHeaderPaginator().parse(ok(payload), ApiRequest("user/starred"), base_url=GITHUB)


# -- the RFC 8288 scanner ---------------------------------------------------------------------

def test_links_keep_commas_and_semicolons_inside_uris_and_quotes():
    header = ('<https://a.example/x?q=a,b;c>; title="next, please; now"; rel="next",'
              '  <https://a.example/y> ;rel = last')
    assert links(header) == [("https://a.example/x?q=a,b;c", {"next"}),
                             ("https://a.example/y", {"last"})]


def test_links_relation_types_are_case_insensitive_and_space_separated():
    assert links('<u>; rel="Next  LAST"') == [("u", {"next", "last"})]
    assert next_link('<u>; rel="prev"') is None


def test_links_second_rel_parameter_is_ignored():
    assert links("<u>; rel=prev; rel=next") == [("u", {"prev"})]
    assert next_link("<u>; rel=prev; rel=next") is None


@pytest.mark.parametrize("header", [
    '<bad; rel=next, <https://a.example/ok>; rel=next',
    'junk, <https://a.example/ok>; rel=next',
    '<no-close; rel=next, <https://a.example/ok>; rel=next',
    '<https://x.example/>; rel="unterminated, <https://a.example/ok>; rel=next',
    '<https://x.example/> trailing junk; rel=next, <https://a.example/ok>; rel=next',
    '<https://x.example/>; =next, <https://a.example/ok>; rel=next',
])
def test_malformed_parts_are_skipped_and_the_rest_still_read(header):
    assert next_link(header) == "https://a.example/ok"


def test_first_next_link_wins():
    assert next_link("<https://a.example/1>; rel=next, <https://a.example/2>; rel=next") \
        == "https://a.example/1"


@settings(max_examples=300, deadline=None)
@given(header=st.text(alphabet='<>;,="\\ \trelnxt/:a.', max_size=80))
def test_links_never_raise(header):
    for uri, rels in links(header):
        assert "<" not in uri and ">" not in uri and isinstance(rels, set)


# -- cursor parameter (Stripe) ----------------------------------------------------------------

def charges(*ids, has_more):
    return ok({"object": "list", "url": "/v1/charges", "has_more": has_more,
               "data": [{"id": i, "object": "charge", "amount": 1099} for i in ids]})


def test_cursor_param_walks_with_the_last_id_while_has_more():
    answers = [charges("ch_3", "ch_2", has_more=True), charges("ch_1", has_more=True),
               charges("ch_0", has_more=False)]
    start = ApiRequest("charges", params={"created[gte]": 1679090000})
    requests, pages = walk(CursorParamPaginator(), start, answers, STRIPE)
    assert [r.params for r in requests] == [
        {"created[gte]": 1679090000, "limit": 100},
        {"created[gte]": 1679090000, "limit": 100, "starting_after": "ch_2"},
        {"created[gte]": 1679090000, "limit": 100, "starting_after": "ch_1"},
    ]
    assert {r.url for r in requests} == {"charges"} and requests[-1].number == 3
    assert pages[-1].next is None and pages[-1].records[0]["id"] == "ch_0"


@pytest.mark.parametrize("has_more", [None, "true", 1, 0, [], {}])
def test_cursor_param_has_more_must_be_a_bool(has_more):
    payload = {"data": [{"id": "ch_1"}], "has_more": has_more}
    with pytest.raises(ProviderDataError, match="has_more"):
        CursorParamPaginator().parse(ok(payload), ApiRequest("charges"), base_url=STRIPE)


def test_cursor_param_missing_has_more_is_refused():
    with pytest.raises(ProviderDataError, match="has_more"):
        CursorParamPaginator().parse(ok({"data": [{"id": "ch_1"}]}), ApiRequest("charges"),
                                     base_url=STRIPE)


def test_cursor_param_more_after_an_empty_page_is_refused():
    # Ending here would read as "nothing else exists" while the provider says otherwise.
    with pytest.raises(ProviderDataError, match=MORE_BUT_EMPTY):
        CursorParamPaginator().parse(charges(has_more=True), ApiRequest("charges"),
                                     base_url=STRIPE)


def test_cursor_param_empty_last_page_is_done():
    page = CursorParamPaginator().parse(charges(has_more=False), ApiRequest("charges"),
                                        base_url=STRIPE)
    assert page == type(page)([], None)


@pytest.mark.parametrize("last_id", [None, "", 42, True, ["ch_1"], "c" * 256])
def test_cursor_param_last_id_must_be_a_bounded_string(last_id):
    payload = {"data": [{"id": "ch_2"}, {"id": last_id}], "has_more": True}
    with pytest.raises(ProviderDataError, match="'id'"):
        CursorParamPaginator().parse(ok(payload), ApiRequest("charges"), base_url=STRIPE)


@pytest.mark.parametrize("payload", [[], "list", {"data": {"id": 1}, "has_more": False},
                                     {"data": ["ch_1"], "has_more": False}])
def test_cursor_param_wrong_shapes_are_refused(payload):
    with pytest.raises(ProviderDataError):
        CursorParamPaginator().parse(ok(payload), ApiRequest("charges"), base_url=STRIPE)


# -- GraphQL pageInfo (AniList) ---------------------------------------------------------------

def anilist_request():
    return ApiRequest("", method="POST", json={"query": QUERY, "variables": {"userId": 7}})


def anilist_page(current, has_next, *ids):
    return ok({"data": {"Page": {
        "pageInfo": {"total": 3, "perPage": 50, "currentPage": current, "hasNextPage": has_next},
        "mediaList": [{"id": i, "mediaId": i * 10} for i in ids]}}})


def test_graphql_first_sets_page_one_and_the_page_size_keeping_other_variables():
    first = GraphQLPageInfoPaginator("Page.mediaList", "Page.pageInfo").first(anilist_request())
    assert first.method == "POST" and first.json["query"] == QUERY
    assert first.json["variables"] == {"userId": 7, "page": 1, "perPage": 50}


def test_graphql_walks_pages_while_has_next_page():
    paginator = GraphQLPageInfoPaginator("Page.mediaList", "Page.pageInfo")
    answers = [anilist_page(1, True, 1, 2), anilist_page(2, True, 3), anilist_page(3, False, 4)]
    requests, pages = walk(paginator, anilist_request(), answers, ANILIST)
    assert [r.json["variables"]["page"] for r in requests] == [1, 2, 3]
    assert all(r.json["variables"]["userId"] == 7 and r.method == "POST" for r in requests)
    assert [[r["id"] for r in p.records] for p in pages] == [[1, 2], [3], [4]]
    assert pages[-1].next is None
    # the request sent first is not changed by building the next one
    assert requests[0].json["variables"]["page"] == 1


def test_graphql_empty_page_ends_the_pass_despite_has_next_page():
    paginator = GraphQLPageInfoPaginator("Page.mediaList", "Page.pageInfo")
    request = paginator.first(anilist_request())
    page = paginator.parse(anilist_page(1, True), request, base_url=ANILIST)
    assert page.records == [] and page.next is None


def test_graphql_errors_without_data_are_refused():
    paginator = GraphQLPageInfoPaginator("Page.mediaList", "Page.pageInfo")
    body = {"data": None, "errors": [{"message": "Too Many Requests.", "status": 429}]}
    with pytest.raises(ProviderDataError, match=GRAPHQL_FAILED) as caught:
        paginator.parse(ok(body), paginator.first(anilist_request()), base_url=ANILIST)
    assert "Too Many" not in str(caught.value)  # provider words stay out of stored messages


def test_graphql_errors_where_the_list_should_be_are_refused():
    paginator = GraphQLPageInfoPaginator("Page.mediaList", "Page.pageInfo")
    body = {"data": {"Page": {"pageInfo": {"hasNextPage": False}, "mediaList": None}},
            "errors": [{"message": "Private list"}]}
    with pytest.raises(ProviderDataError, match=GRAPHQL_PARTIAL):
        paginator.parse(ok(body), paginator.first(anilist_request()), base_url=ANILIST)


def test_graphql_errors_beside_the_list_are_accepted():
    paginator = GraphQLPageInfoPaginator("Page.mediaList", "Page.pageInfo")
    body = {"data": {"Page": {"pageInfo": {"hasNextPage": False},
                              "mediaList": [{"id": 1, "media": None}]}},
            "errors": [{"message": "media 1 is hidden"}]}
    page = paginator.parse(ok(body), paginator.first(anilist_request()), base_url=ANILIST)
    assert page.records == [{"id": 1, "media": None}]


@pytest.mark.parametrize("page_info", [None, [], {"hasNextPage": "yes"}, {},
                                       {"hasNextPage": True, "currentPage": "1"},
                                       {"hasNextPage": True, "currentPage": 5}])
def test_graphql_page_info_must_be_sound(page_info):
    paginator = GraphQLPageInfoPaginator("Page.mediaList", "Page.pageInfo")
    body = {"data": {"Page": {"pageInfo": page_info, "mediaList": [{"id": 1}]}}}
    with pytest.raises(ProviderDataError):
        paginator.parse(ok(body), paginator.first(anilist_request()), base_url=ANILIST)


def test_graphql_request_without_a_query_is_a_programming_error():
    with pytest.raises(ValueError, match="query"):
        GraphQLPageInfoPaginator("Page.mediaList", "Page.pageInfo").first(ApiRequest("x"))


def test_graphql_errors_helper_reads_messages_and_never_raises():
    assert graphql_errors({"errors": [{"message": "a"}, "junk", {"message": "b" * 500}]}) \
        == ["a", "unknown error", "b" * 200]
    assert graphql_errors({"errors": [{"message": str(i)} for i in range(50)]}) \
        == [str(i) for i in range(10)]
    assert graphql_errors({"data": {}}) == graphql_errors([]) == graphql_errors(
        {"errors": "x"}) == []


# -- GraphQL Relay cursor -------------------------------------------------------------------

def relay_page(has_next, end_cursor, *ids):
    return ok({"data": {"viewer": {"starredRepositories": {
        "pageInfo": {"hasNextPage": has_next, "endCursor": end_cursor},
        "nodes": [{"id": i} for i in ids]}}}})


def test_graphql_cursor_walks_with_end_cursor():
    paginator = GraphQLCursorPaginator("viewer.starredRepositories.nodes",
                                       "viewer.starredRepositories.pageInfo")
    start = ApiRequest("graphql", method="POST", json={"query": "query { viewer { ... } }"})
    answers = [relay_page(True, "Y3Vyc29yOjI=", "a", "b"), relay_page(True, "Y3Vyc29yOjM=", "c"),
               relay_page(False, None, "d")]
    requests, pages = walk(paginator, start, answers, GITHUB)
    assert [r.json["variables"] for r in requests] == [
        {"after": None, "first": 50}, {"after": "Y3Vyc29yOjI=", "first": 50},
        {"after": "Y3Vyc29yOjM=", "first": 50}]
    assert pages[-1].next is None and pages[-1].records == [{"id": "d"}]


@pytest.mark.parametrize("end_cursor", [None, "", 7, "c" * 256])
def test_graphql_cursor_needs_an_end_cursor_to_go_on(end_cursor):
    paginator = GraphQLCursorPaginator("viewer.starredRepositories.nodes",
                                       "viewer.starredRepositories.pageInfo")
    start = paginator.first(ApiRequest("graphql", method="POST", json={"query": "q"}))
    with pytest.raises(ProviderDataError, match="endCursor"):
        paginator.parse(relay_page(True, end_cursor, "a"), start, base_url=GITHUB)


# -- sync token (Google Calendar) -------------------------------------------------------------

def events(*ids, page_token=None, sync_token=None):
    body = {"kind": "calendar#events", "items": [{"id": i, "status": "confirmed"} for i in ids]}
    if page_token:
        body["nextPageToken"] = page_token
    if sync_token:
        body["nextSyncToken"] = sync_token
    return ok(body)


def test_sync_token_walks_page_tokens_and_returns_the_sync_token_last():
    start = ApiRequest("calendars/primary/events", params={"syncToken": "OLD", "maxResults": 250})
    answers = [events("a", page_token="p2"), events(page_token="p3"),  # empty pages go on
               events("c", sync_token="CPDAlvWDx70CEPDAlvWDx70CGAU=")]
    requests, pages = walk(SyncTokenPaginator(), start, answers, GOOGLE)
    assert [r.params for r in requests] == [
        {"syncToken": "OLD", "maxResults": 250},
        {"syncToken": "OLD", "maxResults": 250, "pageToken": "p2"},
        {"syncToken": "OLD", "maxResults": 250, "pageToken": "p3"},
    ]
    assert [p.cursor for p in pages] == [None, None, "CPDAlvWDx70CEPDAlvWDx70CGAU="]
    assert pages[-1].next is None


def test_sync_token_absent_on_the_last_page_is_no_cursor():
    page = SyncTokenPaginator().parse(events("a"), ApiRequest("e"), base_url=GOOGLE)
    assert page.next is None and page.cursor is None


@pytest.mark.parametrize(("key", "value"), [
    ("nextPageToken", 5), ("nextPageToken", ["p"]),
    ("nextPageToken", "p" * (MAX_PAGE_TOKEN_LENGTH + 1)),
    ("nextSyncToken", True), ("nextSyncToken", {"t": 1}),
    ("nextSyncToken", "s" * (MAX_SYNC_TOKEN_LENGTH + 1)),
])
def test_sync_token_tokens_must_be_bounded_strings(key, value):
    with pytest.raises(ProviderDataError, match=key):
        SyncTokenPaginator().parse(ok({"items": [], key: value}), ApiRequest("e"),
                                   base_url=GOOGLE)


def test_gone_sync_token_means_cursor_rejected():
    class Gone:  # what classify.default reads of a requests.Response
        status_code, headers, content = 410, {}, b'{"error": {"code": 410}}'

    assert default(Gone()).verdict is Verdict.CURSOR_REJECTED


# -- every paginator, hostile payloads --------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
keys = st.sampled_from(["data", "items", "has_more", "id", "nextPageToken", "nextSyncToken",
                        "errors", "Page", "pageInfo", "mediaList", "hasNextPage", "endCursor",
                        "currentPage", "message"])
shaped = st.recursive(json_values, lambda children: st.lists(children, max_size=3)
                      | st.dictionaries(keys, children, max_size=4), max_leaves=25)
GRAPHQL = ApiRequest("", method="POST", json={"query": QUERY})
PAGINATORS = [
    (LinkHeaderPaginator(), ApiRequest("p")),
    (LinkHeaderPaginator(items_key="items"), ApiRequest("p")),
    (CursorParamPaginator(), ApiRequest("p")),
    (GraphQLPageInfoPaginator("Page.mediaList", "Page.pageInfo"), GRAPHQL),
    (GraphQLCursorPaginator("Page.mediaList", "Page.pageInfo"), GRAPHQL),
    (SyncTokenPaginator(), ApiRequest("p")),
]


@pytest.mark.parametrize(("paginator", "start"), PAGINATORS,
                         ids=[f"{type(p).__name__}-{i}" for i, (p, _) in enumerate(PAGINATORS)])
@settings(max_examples=150, deadline=None)
@given(payload=shaped, link=st.one_of(st.none(), st.text(max_size=60),
                                      st.sampled_from(['<https://api.example/p2>; rel="next"',
                                                       '<https://evil.example/>; rel=next'])))
def test_paginators_never_raise_a_bare_error(paginator, start, payload, link):
    headers = {} if link is None else {"Link": link}
    try:
        page = paginator.parse(ApiResponse(200, headers, payload), paginator.first(start),
                               base_url="https://api.example/")
    except ProviderDataError:
        return
    assert isinstance(page.records, list) and all(isinstance(r, dict) for r in page.records)
    assert page.next is None or page.next.number == 2
    assert page.cursor is None or isinstance(page.cursor, str)


# Near-valid bodies: the right keys, usually with usable values, sometimes with any value, so
# the checks past the first one run too.
def usually(valid):
    return st.one_of(valid, valid, json_values)


words = st.text(min_size=1, max_size=12)
record_lists = usually(st.lists(st.fixed_dictionaries(
    {}, optional={"id": usually(words), "name": json_values}), max_size=3))
page_info = st.fixed_dictionaries({}, optional={
    "hasNextPage": usually(st.booleans()), "currentPage": usually(st.just(1)),
    "endCursor": usually(words)})
NEAR_VALID = [
    (CursorParamPaginator(), ApiRequest("p"), st.fixed_dictionaries(
        {"data": record_lists}, optional={"has_more": usually(st.booleans())})),
    (GraphQLPageInfoPaginator("Page.mediaList", "Page.pageInfo"), GRAPHQL, st.fixed_dictionaries(
        {"data": usually(st.fixed_dictionaries({"Page": st.fixed_dictionaries(
            {"pageInfo": usually(page_info), "mediaList": record_lists})}))},
        optional={"errors": usually(st.lists(st.fixed_dictionaries({"message": words}),
                                             max_size=2))})),
    (GraphQLCursorPaginator("Page.mediaList", "Page.pageInfo"), GRAPHQL, st.fixed_dictionaries(
        {"data": st.fixed_dictionaries({"Page": st.fixed_dictionaries(
            {"pageInfo": page_info, "mediaList": record_lists})})})),
    (SyncTokenPaginator(), ApiRequest("p"), st.fixed_dictionaries(
        {"items": record_lists},
        optional={"nextPageToken": usually(words), "nextSyncToken": usually(words)})),
]


@pytest.mark.parametrize(("paginator", "start", "bodies"), NEAR_VALID,
                         ids=[type(p).__name__ for p, _, _ in NEAR_VALID])
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_near_valid_bodies_page_on_or_raise_the_engines_error(paginator, start, bodies, data):
    payload = data.draw(bodies)
    request = paginator.first(start)
    try:
        page = paginator.parse(ApiResponse(200, {}, payload), request, base_url=GITHUB)
    except ProviderDataError:
        return
    assert all(isinstance(r, dict) for r in page.records)
    if page.next is not None:
        # the next request is a new page of the same call, never a copy of this one
        assert page.next.number == 2 and page.next != request
        # only Google's page tokens go on after an empty page (documented there)
        assert page.records or isinstance(paginator, SyncTokenPaginator)
        assert page.next.method == request.method and page.next.url == request.url
