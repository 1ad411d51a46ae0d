"""Schema-driven fuzzing of every operation of /api/v1/ with Schemathesis.

Every operation the schema documents (endpoints added later are covered without a change
here) is called with generated valid and invalid input, by a person with a valid token, through
the in-process WSGI application. Each answer must:

- not be a 5xx, and conform to the schema (status documented, body and headers as declared):
  Schemathesis' checks and the suite's own ``check_response``;
- show nothing of the other person seeded beside the caller (tests/api/world.py): none of their
  ids, labels, secrets or token values; and an id of theirs in the URL is never answered 2xx.

Deterministic (derandomized Hypothesis, a fixed seed, a fixed number of examples) and without
network: the suite's conftest blocks every socket but loopback and mocks ``requests`` with
``responses``, so a view that calls out gets a connection error, which it must answer cleanly.

Each example runs in a savepoint rolled back afterwards, with a fresh token of the caller: a
destructive call (revoking the caller's token, disconnecting, deleting data) cannot lock the
run out or change what the next example sees, and the per-token throttle never fills up.
"""

from __future__ import annotations

import itertools
import json
import sys

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from integrations.api_tokens import api_token_create

from .schema_check import check_response, openapi_schema
from .world import FOREIGN_IDS, World, foreign_user, seed_world

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 12  # per operation and phase; the file must stay well under a minute
SEED = 20261129
CONFIG = {
    "seed": SEED,
    "base-url": "http://localhost",  # the WSGI app's; no request leaves the process
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True,
                   "database": "none",  # no replay of earlier runs' examples
                   # The token is the test's own (a valid one); no generated credentials.
                   "with-security-parameters": False},
    "phases": {"stateful": {"enabled": False}},
    # Not checked: that invalid input is always refused (DRF coerces compatible scalars on
    # purpose: 0 to "0" for a text field, an unusable page_size to the default), and that
    # schema-valid input is always accepted (business rules answer 400 to well-formed input:
    # a credential the provider refuses, a token expiry past the operator's maximum).
    "checks": {"negative_data_rejection": {"enabled": False},
               "positive_data_acceptance": {"enabled": False}},
}

# Loaded at collection, so each operation is its own test item. (The lazy loader,
# schemathesis.pytest.from_fixture, does not run under pytest 9.)
schema = schemathesis.openapi.from_dict(openapi_schema(),
                                        config=SchemathesisConfig.from_dict(CONFIG))
# Django's WSGI handler, as a server runs it: every request, Schemathesis' own probes included,
# goes to it in-process (the ``wsgi_app`` fixture makes it safe inside a test).
schema.app = WSGIHandler()
# The seeded world of the running test, for the path parameter hook (set by ``world``).
_current: dict[str, World] = {}


@pytest.fixture
def world(user) -> World:
    _current["world"] = seed_world(user, foreign_user())
    yield _current["world"]
    _current.clear()


@pytest.fixture
def server_errors():
    """``schema.app`` inside the test's transaction, with unhandled view errors kept.

    Like Django's test client, it does not close the database connection at the start and end
    of each request (that would end the test's transaction); unhandled view exceptions are
    kept so a 500 fails with its traceback.
    """
    errors: list = []

    def keep(sender, request=None, **kwargs):
        errors.append(sys.exc_info())

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    got_request_exception.connect(keep)
    yield errors
    got_request_exception.disconnect(keep)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half of the time, ids of real objects: the caller's, or the other person's."""
    if not path_parameters or "world" not in _current:
        return st.just(path_parameters)
    ints, strings = _current["world"].path_values()
    real = st.fixed_dictionaries({
        name: st.sampled_from(ints if isinstance(value, int) else strings)
        for name, value in path_parameters.items()
    })
    return st.one_of(st.just(path_parameters), real)


@schema.parametrize()
@settings(derandomize=True, deadline=None, max_examples=MAX_EXAMPLES,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_its_schema_and_only_with_the_callers_data(
    case, user, world, server_errors
):
    savepoint = transaction.atomic()
    savepoint._from_testcase = True  # the example's wrapper, not the code's transaction
    with savepoint:
        _, plain = api_token_create(user=user, name="fuzz")
        auth = {"Authorization": f"Bearer {plain}"}
        try:
            response = case.call_and_validate(headers=auth)
        finally:
            if server_errors:  # a 500: show the view's exception rather than the status
                _, exc, tb = server_errors.pop()
                raise exc.with_traceback(tb)
        if case.method.lower() == case.operation.method.lower():  # not a probe with another
            check_response(case.method, case.formatted_path, response.status_code,
                           response.content, response.headers.get("content-type", [""])[0])
        sent = json.dumps([case.formatted_path, case.query, case.body], default=str)
        answer = response.content.decode(errors="replace") + json.dumps(response.headers)
        assert not world.leaks(answer, sent), (case.method, case.formatted_path)
        foreign = {str(v) for ids in world.foreign_ids.values() for v in ids}
        ids = {p["name"] for p in _path_params(case.operation.path, case.operation.method)
               if _is_object_id(p)}
        guessed = foreign & {str(v) for name, v in (case.path_parameters or {}).items()
                             if name in ids}
        if guessed:
            assert not 200 <= response.status_code < 300, (
                f"{case.method} {case.formatted_path}: another person's {guessed} answered "
                f"{response.status_code}")
        transaction.set_rollback(True)


def _is_object_id(param: dict) -> bool:
    """Whether a path parameter names a stored object: an integer, or text named like a key
    (``key``, ``*_id``...); not a fixed choice (an enum) nor free text such as a proxied path."""
    schema = param.get("schema", {})
    if "enum" in schema:
        return False
    name = param["name"].lower()
    return schema.get("type") == "integer" or name in {"id", "pk", "key", "slug"} or \
        name.endswith(("_id", "_pk", "_key"))


def _path_params(path: str, method: str) -> list[dict]:
    operation = openapi_schema()["paths"][path][method.lower()]
    return [p for p in operation.get("parameters", []) if p["in"] == "path"]


def _operations_taking_ids() -> list[tuple[str, str, list[dict]]]:
    """Every operation with a path parameter that names a stored object."""
    found = []
    for path, item in openapi_schema()["paths"].items():
        for method in item:
            params = _path_params(path, method)
            if any(_is_object_id(p) for p in params):
                found.append((method.upper(), path, params))
    return found


def _guesses(params: list[dict], world: World) -> list[dict]:
    """Every filling of ``params`` with at least one id of the other person's; the others get
    the caller's own ids (so /connections/{mine}/runs/{theirs}/ is tried too)."""
    ints, strings = world.path_values()
    foreign = {str(v) for ids in world.foreign_ids.values() for v in ids}
    choices = []
    for param in params:
        schema = param.get("schema", {})
        if "enum" in schema:
            choices.append([schema["enum"][0]])
        elif not _is_object_id(param):
            choices.append(["x"])  # free text (a proxied path): any harmless value
        elif schema.get("type") == "integer":
            choices.append(ints)
        else:
            choices.append([*strings, *map(str, ints)])
    return [
        dict(zip([p["name"] for p in params], values, strict=True))
        for values in itertools.product(*choices)
        if foreign & {str(v) for v in values}
    ]


@pytest.mark.parametrize(
    "method,path,params", _operations_taking_ids(), ids=[f"{m} {p}" for m, p, _ in
                                                         _operations_taking_ids()])
def test_guessing_another_persons_ids_is_404_and_changes_nothing(api, world, method, path,
                                                                   params):
    before = _foreign_rows()
    for values in _guesses(params, world):
        url = path.format(**values)
        response = api.generic(method, url, "{}", content_type="application/json")
        assert response.status_code == 404, (method, url, response.status_code)
        assert not world.leaks(response.content.decode(), url)
    assert _foreign_rows() == before


def _foreign_rows() -> dict[str, int]:
    from integrations.models import ActionRun, ApiToken, Connection, ExternalItem, SyncRun
    from library.models import LibraryEntry, LibraryPush, ListSyncSettings

    other = {"user_id": FOREIGN_IDS["user"]}
    via = {"connection__user_id": FOREIGN_IDS["user"]}
    return {
        "connections": Connection.objects.filter(**other).count(),
        "runs": SyncRun.objects.filter(**via).count(),
        "items": ExternalItem.objects.filter(**via, deleted_at__isnull=True).count(),
        "actions": ActionRun.objects.filter(**via).count(),
        "tokens": ApiToken.objects.filter(**other).count(),
        # Library: their entries' values, pushes and list switches stay as seeded.
        "entries": list(LibraryEntry.objects.filter(**other).values_list(
            "status", "progress", "score")),
        "pushes": LibraryPush.objects.filter(**via).count(),
        "list_settings": ListSyncSettings.objects.filter(**via).count(),
    }
