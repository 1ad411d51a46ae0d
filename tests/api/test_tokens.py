"""Personal API tokens: shown once, stored hashed, expiring, revocable, last use recorded."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from integrations.api.authentication import LAST_USED_RESOLUTION
from integrations.api_tokens import MAX_TOKENS_PER_USER, api_token_create
from integrations.models import ApiToken

from .conftest import error_code
from .schema_check import CheckedClient

pytestmark = pytest.mark.django_db


def test_a_token_is_shown_once_and_stored_only_as_its_hash(api, user):
    response = api.post("/api/v1/tokens/", {"name": "report script", "expires_in_days": 30})
    assert response.status_code == 201
    plain = response.json()["token"]
    assert plain.startswith("ta_")
    stored = ApiToken.objects.get(user=user, name="report script")
    assert plain not in {stored.digest, stored.token_key}
    assert stored.token_key == plain[:15]
    # Listed without the value.
    listed = api.get("/api/v1/tokens/").json()["results"]
    assert {t["name"] for t in listed} == {"tests", "report script"}
    assert all("token" not in t for t in listed)
    # The new token works on its own.
    other = CheckedClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert other.get("/api/v1/tokens/").status_code == 200


def test_without_credentials_the_answer_is_401_in_the_one_error_shape(anon):
    response = anon.get("/api/v1/tokens/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert error_code(response) == "not_authenticated"


def test_a_wrong_token_is_401(anon):
    anon.credentials(HTTP_AUTHORIZATION="Bearer ta_" + "0" * 64)
    response = anon.get("/api/v1/tokens/")
    assert response.status_code == 401
    assert error_code(response) == "authentication_failed"


def test_an_expired_token_is_refused(user):
    _, plain = api_token_create(user=user, name="short", expires_in_days=1)
    client = CheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert client.get("/api/v1/tokens/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1), tick=False):
        assert client.get("/api/v1/tokens/").status_code == 401


def test_last_use_is_recorded_at_most_once_a_minute(user, django_assert_num_queries):
    token, plain = api_token_create(user=user, name="t")
    client = CheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.get("/api/v1/tokens/")
    token.refresh_from_db()
    assert token.last_used_at == start
    with time_machine.travel(start + LAST_USED_RESOLUTION / 2, tick=False):
        client.get("/api/v1/tokens/")
    token.refresh_from_db()
    assert token.last_used_at == start
    later = start + LAST_USED_RESOLUTION * 2
    with time_machine.travel(later, tick=False):
        client.get("/api/v1/tokens/")
    token.refresh_from_db()
    assert token.last_used_at == later


def test_revoking_a_token_refuses_it_from_then_on(api, user):
    created = api.post("/api/v1/tokens/", {"name": "doomed"}).json()
    client = CheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created['token']}")
    assert client.delete(f"/api/v1/tokens/{created['key']}/").status_code == 204
    assert client.get("/api/v1/tokens/").status_code == 401
    assert api.get("/api/v1/tokens/").status_code == 200


def test_another_persons_token_is_404(api, other_user):
    theirs, _ = api_token_create(user=other_user, name="theirs")
    response = api.delete(f"/api/v1/tokens/{theirs.token_key}/")
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x", "expires_in_days": 0}, "expires_in_days"),
    ({"name": "x", "expires_in_days": 10_000}, "expires_in_days"),
    ({"name": "x", "expires_in_days": "soon"}, "expires_in_days"),
])
def test_a_bad_token_request_is_400_with_field_errors(api, body, field):
    response = api.post("/api/v1/tokens/", body)
    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert field in response.json()["error"]["fields"]


def test_past_the_token_limit_the_answer_is_409(api, user):
    for n in range(MAX_TOKENS_PER_USER - 1):
        api_token_create(user=user, name=f"t{n}")
    response = api.post("/api/v1/tokens/", {"name": "one too many"})
    assert response.status_code == 409
    assert error_code(response) == "token_limit"


def test_a_session_request_without_csrf_is_refused(client, user):
    from rest_framework.test import APIClient

    session = APIClient(enforce_csrf_checks=True)
    session.force_login(user)
    response = session.post("/api/v1/tokens/", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]
    assert session.get("/api/v1/tokens/").status_code == 200


def test_the_tokens_page_shows_a_new_token_once(client, user):
    client.force_login(user)
    page = client.post("/api-tokens/", {"name": "laptop", "expires_in_days": "30"})
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=user, name="laptop")
    html = page.content.decode()
    value = html.split('id="new-token" class="token-value" type="text" readonly value="')[1]
    value = value.split('"')[0]
    assert value.startswith(token.token_key)
    again = client.get("/api-tokens/").content.decode()
    assert value not in again and "laptop" in again
    client.post(f"/api-tokens/{token.token_key}/revoke/")
    assert not ApiToken.objects.filter(user=user, name="laptop").exists()


def test_a_token_cannot_make_one_that_outlives_it(user):
    maker, plain = api_token_create(user=user, name="short", expires_in_days=1)
    client = CheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    made = client.post("/api/v1/tokens/", {"name": "long", "expires_in_days": 365})
    assert made.status_code == 201
    assert made["Cache-Control"] == "no-store"
    assert ApiToken.objects.get(name="long").expiry <= maker.expiry


def test_a_token_may_revoke_itself_but_no_other(user):
    other, _ = api_token_create(user=user, name="other script")
    mine, plain = api_token_create(user=user, name="this script")
    client = CheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    refused = client.delete(f"/api/v1/tokens/{other.token_key}/")
    assert refused.status_code == 403
    assert error_code(refused) == "session_required"
    assert ApiToken.objects.filter(pk=other.pk).exists()
    assert client.delete(f"/api/v1/tokens/{mine.token_key}/").status_code == 204


def test_the_session_may_revoke_any_of_the_persons_tokens(client, user):
    token, _ = api_token_create(user=user, name="script")
    session = CheckedClient()
    session.force_login(user)
    assert session.delete(f"/api/v1/tokens/{token.token_key}/").status_code == 204


def test_expired_tokens_do_not_count_against_the_limit(user):
    for n in range(MAX_TOKENS_PER_USER):
        api_token_create(user=user, name=f"old{n}", expires_in_days=1)
    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        api_token_create(user=user, name="fresh")
    assert ApiToken.objects.filter(user=user).count() == 1


def test_hostile_bodies_are_client_errors_in_the_one_shape(api, settings):
    deep = api.post("/api/v1/tokens/", "[" * 100_000 + "]" * 100_000,
                    content_type="application/json")
    assert deep.status_code == 400
    assert error_code(deep) == "parse_error"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    big = api.post("/api/v1/tokens/", {"name": "x" * 2048})
    assert big.status_code == 413
    assert error_code(big) == "payload_too_large"
    html = api.get("/api/v1/tokens/", HTTP_ACCEPT="text/html")
    assert html.status_code == 406
    assert error_code(html) == "not_acceptable"
