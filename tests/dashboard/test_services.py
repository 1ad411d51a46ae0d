"""Widget services: checked against the connection's proxy spec, scoped to the person."""

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from dashboard import selectors, services
from dashboard.models import Widget
from dashboard.services import widget_create, widget_delete, widget_move, widget_update
from tests.factories import make_connection


def create(user, connection, **kwargs):
    values = {"title": "Charges", "path": "/v1/charges", "view": "number"} | kwargs
    return widget_create(user=user, connection=connection, **values)


def errors_of(exc_info) -> dict[str, list[str]]:
    return exc_info.value.message_dict


def test_a_declared_endpoint_with_valid_params_is_saved_in_order(specs, user, stripe):
    first = create(user, stripe, params=[["limit", "100"], ["created[gte]", "-30d"]])
    second = create(user, stripe, title="Balance", path="v1/balance")
    assert first.params == [["limit", "100"], ["created[gte]", "-30d"]]
    assert (first.position, second.position) == (0, 1)
    assert second.path == "/v1/balance"  # stored the way the proxy names it


def test_an_undeclared_path_is_refused_naming_the_declared_ones(specs, user, stripe):
    with pytest.raises(ValidationError) as exc_info:
        create(user, stripe, path="/v1/customers")
    assert errors_of(exc_info)["path"] == [services.NOT_DECLARED.format(
        name="Stripe", paths="/v1/charges, /v1/balance, /repos/{owner}/{repo}")]
    assert not Widget.objects.exists()


@pytest.mark.parametrize(("path", "ok"), [
    ("/repos/octocat/hello-world", True), ("/repos/octocat", False),
    ("/repos/octocat/hello/world", False), ("/repos/../hello", False),
    ("/repos/{owner}/{repo}", False), ("/repos/a%2F..%2Fb/c", False),
])
def test_placeholders_fill_exactly_one_safe_segment(specs, user, stripe, path, ok):
    if ok:
        assert create(user, stripe, path=path).path == path
    else:
        with pytest.raises(ValidationError):
            create(user, stripe, path=path)


def test_params_are_checked_by_their_declared_fields(specs, user, stripe):
    with pytest.raises(ValidationError) as exc_info:
        create(user, stripe, params=[["limit", "lots"], ["expand", "x"], ["created[gte]", "1"],
                                     ["created[gte]", "2"]])
    problems = errors_of(exc_info)["params"]
    assert problems[0].startswith("limit: ")
    assert services.UNKNOWN_PARAM.format(label="Charges", name="expand",
                                         known="limit, created[gte]") in problems
    assert services.REPEATED_PARAM.format(name="created[gte]") in problems


def test_a_relative_date_is_checked_as_what_it_resolves_to(specs, user, connection=None):
    sendgrid = make_connection(user, "sendgrid", external_id="k")
    assert create(user, sendgrid, path="/v3/stats", params=[["start_date", "-30d:date"]])
    with pytest.raises(ValidationError):  # epoch seconds, not a date
        create(user, sendgrid, path="/v3/stats", params=[["start_date", "-30d"]])


def test_a_required_param_must_be_given(specs, user):
    sendgrid = make_connection(user, "sendgrid", external_id="k")
    with pytest.raises(ValidationError) as exc_info:
        create(user, sendgrid, path="/v3/stats")
    assert errors_of(exc_info)["params"] == [
        services.MISSING_PARAM.format(label="Stats", name="start_date")]


@pytest.mark.parametrize("params", [
    [["bad name", "1"]], [["a", "line\nbreak"]], [["a", "x" * 201]],
    [[f"p{n}", "1"] for n in range(services.MAX_PARAMS + 1)],
])
def test_any_path_params_are_still_bounded(specs, user, custom, params):
    with pytest.raises(ValidationError) as exc_info:
        create(user, custom, path="/status", params=params)
    assert "params" in errors_of(exc_info)


@pytest.mark.parametrize(("path", "ok"), [
    ("/status", True), ("metrics/daily", True), ("//evil.example/x", False),
    ("https://evil.example/", False), ("/a/../b", False), ("/status?key=1", False),
    ("/a%2e%2e/b", False), ("", False), ("/with space", False),
])
def test_a_custom_api_takes_any_safe_path(specs, user, custom, path, ok):
    if ok:
        assert create(user, custom, path=path).path == "/" + path.lstrip("/")
    else:
        with pytest.raises(ValidationError) as exc_info:
            create(user, custom, path=path)
        assert errors_of(exc_info)["path"] == [services.BAD_PATH]


def test_a_provider_without_a_proxy_spec_is_refused(specs, user):
    spotify = make_connection(user, "spotify")
    with pytest.raises(ValidationError) as exc_info:
        create(user, spotify)
    assert errors_of(exc_info)["connection"] == [services.NO_PROXY.format(name="Spotify")]


def test_another_persons_connection_is_refused(specs, user, other_user, stripe):
    with pytest.raises(ValidationError) as exc_info:
        create(other_user, stripe)
    assert errors_of(exc_info)["connection"] == [services.NOT_YOURS]


def test_a_line_chart_takes_the_declared_time_field_unless_given(specs, user, stripe, custom):
    assert create(user, stripe, view="line", value_path="amount").time_field == "created"
    assert create(user, stripe, view="line", time_field="captured_at").time_field == \
        "captured_at"
    with pytest.raises(ValidationError) as exc_info:
        create(user, custom, path="/x", view="line", value_path="n")
    assert errors_of(exc_info)["time_field"] == [services.NEEDS_TIME_FIELD]


@pytest.mark.parametrize(("field", "value"), [
    ("value_path", "data[0]"), ("value_path", "a..b"), ("time_field", "<t>"), ("view", "pie"),
    ("title", "  "), ("title", "t" * 101), ("value_path", ".".join(["a" * 50] * 5)),
    ("time_field", "t" * 101), ("path", "/v1/" + "c" * 300),
])
def test_bad_fields_are_refused(specs, user, stripe, field, value):
    with pytest.raises(ValidationError) as exc_info:
        create(user, stripe, **{field: value})
    assert field in errors_of(exc_info)


def test_a_dashboard_is_bounded(specs, user, stripe):
    for n in range(services.MAX_WIDGETS):
        create(user, stripe, title=f"W{n}")
    with pytest.raises(ValidationError) as exc_info:
        create(user, stripe)
    assert exc_info.value.messages == [services.TOO_MANY_WIDGETS]


def test_update_rechecks_and_keeps_the_connection(specs, user, stripe):
    widget = create(user, stripe)
    widget_update(widget=widget, title="Balance", path="/v1/balance", params=[], view="number",
                  value_path="available.0.amount")
    widget.refresh_from_db()
    assert (widget.title, widget.path, widget.value_path) == ("Balance", "/v1/balance",
                                                              "available.0.amount")
    with pytest.raises(ValidationError):
        widget_update(widget=widget, title="x", path="/v1/nope", params=[], view="number")
    widget.refresh_from_db()
    assert widget.path == "/v1/balance"


def test_move_swaps_neighbours_and_stops_at_the_ends(specs, user, stripe):
    a, b, c = (create(user, stripe, title=t) for t in "abc")
    widget_move(widget=c, offset=-1)
    assert [w.title for w in selectors.widgets_for_user(user=user)] == ["a", "c", "b"]
    widget_move(widget=a, offset=-1)
    widget_move(widget=b, offset=1)
    assert [w.title for w in selectors.widgets_for_user(user=user)] == ["a", "c", "b"]
    widget_delete(widget=c)
    widget_move(widget=b, offset=-1)
    assert [w.title for w in selectors.widgets_for_user(user=user)] == ["b", "a"]


def test_selectors_are_scoped_to_the_person(specs, user, other_user, stripe):
    widget = create(user, stripe)
    assert list(selectors.widgets_for_user(user=other_user)) == []
    with pytest.raises(Http404):
        selectors.widget_get_for_user(user=other_user, pk=widget.pk)
    with pytest.raises(Http404):
        selectors.dashboard_connection_get_for_user(user=other_user, pk=stripe.pk)
    make_connection(user, "spotify")
    assert selectors.dashboard_connections(user=user) == [stripe]


def test_poll_interval_is_the_providers_cache_ttl(specs, user, stripe, custom):
    assert selectors.poll_seconds(stripe) == 60
    assert selectors.poll_seconds(custom) == 30


def test_a_long_custom_path_the_proxy_would_take_is_refused_before_the_database(
        specs, user, custom):
    """The proxy accepts paths up to 1024 characters; the column holds 200."""
    with pytest.raises(ValidationError) as exc_info:
        create(user, custom, path="/" + "/".join(["segment"] * 30))
    assert errors_of(exc_info)["path"] == [services.BAD_PATH]
