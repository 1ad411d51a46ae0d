"""What a proxied request may name: declared paths and methods, checked parameters, and no way
out of the API base (traversal, other hosts, encodings)."""

import pytest
from django.http import QueryDict

from integrations.providers.registry import get_provider
from integrations.proxy import paths
from integrations.proxy.spec import ProxyError

STRIPE = get_provider("stripe").proxy
SENDGRID = get_provider("sendgrid").proxy
GITHUB = get_provider("github").proxy
CUSTOM = get_provider("custom_api").proxy


def error(spec, path, method="GET", params=()) -> ProxyError:
    with pytest.raises(ProxyError) as caught:
        paths.resolve(spec, method, path, params)
    return caught.value


@pytest.mark.parametrize(("spec", "path", "relative"), [
    (STRIPE, "/v1/charges", "charges"),
    (STRIPE, "v1/balance", "balance"),
    (SENDGRID, "/v3/suppression/bounces", "v3/suppression/bounces"),
    (GITHUB, "/users/octocat/repos", "users/octocat/repos"),
    (GITHUB, "/user", "user"),
    (CUSTOM, "/stations/st-001", "stations/st-001"),
    (CUSTOM, "/items/", "items/"),
    (CUSTOM, "/", ""),
    (CUSTOM, "/v1/items:search", "v1/items:search"),
])
def test_declared_paths_resolve_under_the_api_base(spec, path, relative):
    assert paths.resolve(spec, "GET", path, ()).relative == relative


@pytest.mark.parametrize(("spec", "path"), [
    (STRIPE, "/v1/refunds"), (STRIPE, "/charges"), (STRIPE, "/v1/charges/ch_1"),
    (STRIPE, "/v2/charges"), (STRIPE, "/"), (GITHUB, "/users"),
    (GITHUB, "/users/octocat/repos/extra"), (GITHUB, "/users/"),
    (SENDGRID, "/v3/mail/send"), (GITHUB, "/user/repos/"),
])
def test_undeclared_paths_are_not_proxied(spec, path):
    assert (error(spec, path).status, error(spec, path).code) in {
        (404, "not_proxied"), (400, "bad_path")}


@pytest.mark.parametrize("path", [
    "/v1/../v1/charges", "/v1/charges/..", "/v1/./charges", "//evil.test/v1/charges",
    "/v1//charges", "/v1/charges%2F..", "/v1/%2e%2e/charges", "/https://evil.test/",
    "https://evil.test/v1/charges", "/v1/charges\\..", "/v1/char ges", "/v1/charges?x=1",
    "/v1/charges#frag", "/v1/charges\n", "/v1/charges\x00", "", "/" + "a/" * 40,
    "/" + "a" * 1100, "/http:/evil.test", "/v1/ch\u00e4rges", None, 42,
])
@pytest.mark.parametrize("spec", [STRIPE, CUSTOM])
def test_traversal_other_hosts_and_encodings_are_refused(spec, path):
    refused = error(spec, path)
    assert refused.status in (400, 404)
    assert refused.code in ("bad_path", "not_proxied")


def test_a_placeholder_is_one_plain_segment():
    assert error(GITHUB, "/users/../user").code == "bad_path"
    assert error(GITHUB, "/users/a/b/repos").code == "not_proxied"
    assert error(GITHUB, "/users/%2e%2e/repos").code == "bad_path"


@pytest.mark.parametrize(("spec", "path", "method"), [
    (STRIPE, "/v1/charges", "POST"), (STRIPE, "/v1/charges", "DELETE"),
    (CUSTOM, "/stations", "POST"), (CUSTOM, "/stations", "PUT"),
])
def test_methods_not_declared_are_refused(spec, path, method):
    refused = error(spec, path, method)
    assert (refused.status, refused.code) == (405, "method_not_allowed")


def test_parameters_are_checked_against_the_declaration():
    refused = error(STRIPE, "/v1/charges", params=[
        ("limit", "101"), ("starting_after", "x" * 101), ("expand[]", "customer"),
        ("created[gte]", "yesterday")])
    assert refused.status == 400
    assert set(refused.fields) == {"limit", "starting_after", "expand[]", "created[gte]"}


def test_a_repeated_parameter_is_refused_where_not_allowed():
    refused = error(STRIPE, "/v1/charges", params=[("limit", "3"), ("limit", "4")])
    assert refused.fields == {"limit": [paths.REPEATED_PARAM]}


def test_a_required_parameter_and_choices_are_enforced():
    assert error(SENDGRID, "/v3/stats").fields == {"start_date": [paths.REQUIRED]}
    refused = error(SENDGRID, "/v3/stats", params=[("start_date", "2026-01-01"),
                                                   ("aggregated_by", "year")])
    assert list(refused.fields) == ["aggregated_by"]


def test_a_querydict_keeps_its_repeated_values():
    refused = error(STRIPE, "/v1/charges", params=QueryDict("limit=1&limit=2"))
    assert "limit" in refused.fields
    target = paths.resolve(CUSTOM, "GET", "/x", QueryDict("tag=a&tag=b&q=1"))
    assert target.params == (("tag", "a"), ("tag", "b"), ("q", "1"))


def test_a_custom_apis_parameters_are_free_but_bounded():
    assert paths.resolve(CUSTOM, "GET", "/x", {"q": "rain", "n": 3}).params == (
        ("q", "rain"), ("n", "3"))
    assert "q" in error(CUSTOM, "/x", params=[("q", "x" * 501)]).fields
    assert error(CUSTOM, "/x", params=[("bad name", "1")]).status == 400
    assert error(CUSTOM, "/x", params=[("q", "a\r\nX-Injected: 1")]).status == 400
    assert error(CUSTOM, "/x", params=[(f"p{n}", "1") for n in range(31)]).status == 400


# A ";" starts path parameters for some servers (Tomcat, Jetty, Spring): "..;" is ".." to them,
# so "/a/..;/admin" climbs out of the base while it looks like a plain segment here.
@pytest.mark.parametrize("path", [
    "/stations/..;/admin", "/..;/admin", "/stations/..;x=1/admin", "/.;/stations",
    "/.;x/stations", "/stations/;/x", "/stations/;jsessionid=1", "/a/..;",
])
@pytest.mark.parametrize("spec", [STRIPE, GITHUB, CUSTOM])
def test_dot_segments_behind_a_semicolon_are_refused(spec, path):
    refused = error(spec, path)
    assert (refused.status, refused.code) == (400, "bad_path")


@pytest.mark.parametrize("path", ["/stations;v=2", "/items/st-1;x", "/a;b/c"])
def test_a_custom_api_path_has_no_semicolon(path):
    """A custom API reaches any path: a matrix parameter may mean anything to its server
    (a path rewrite, a session), and no documented API needs one through the proxy."""
    refused = error(CUSTOM, path)
    assert (refused.status, refused.code) == (400, "bad_path")
