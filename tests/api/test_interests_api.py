"""/api/v1/interests/?purpose=...: only what that purpose may use now, gated by consent."""

import pytest

from consent.purposes import COMMUNITY_RECOMMENDATION, MATCHING
from consent.services import consent_set
from integrations.models import Interest, UserInterest
from integrations.selectors import interests_for_purpose
from tests.factories import make_connection

from .conftest import error_code

pytestmark = pytest.mark.django_db


def hold(connection, slug: str, purpose: str, weight: float) -> None:
    interest, _ = Interest.objects.get_or_create(
        slug=slug, defaults={"label": slug.split(":")[1].title(), "category": "music"})
    UserInterest.objects.create(user=connection.user, connection=connection, interest=interest,
                                purpose=purpose, weight=weight)


@pytest.fixture
def held(user):
    sandbox = make_connection(user, "sandbox", external_id="s-1")
    spotify = make_connection(user, "spotify", external_id="s-2")
    hold(sandbox, "music:shoegaze", MATCHING, 1.0)
    hold(sandbox, "music:jazz", COMMUNITY_RECOMMENDATION, 0.5)
    hold(spotify, "music:folk", MATCHING, 0.25)
    return sandbox, spotify


def listed(api, purpose: str) -> set[tuple]:
    response = api.get("/api/v1/interests/", {"purpose": purpose})
    assert response.status_code == 200
    return {(i["slug"], i["provider"], i["weight"]) for i in response.json()["results"]}


def test_without_consent_a_purpose_sees_nothing(api, held):
    assert listed(api, MATCHING) == set()


def test_a_purpose_sees_only_its_own_interests_from_allowed_providers(api, user, held):
    consent_set(user=user, purpose=MATCHING, granted=True)
    consent_set(user=user, purpose=MATCHING, granted=False, provider="spotify")
    assert listed(api, MATCHING) == {("music:shoegaze", "sandbox", 1.0)}
    # The same answer as the selector other ThinkAlike code uses.
    assert interests_for_purpose(user=user, purpose=MATCHING) == {"music:shoegaze": 1.0}
    item = api.get("/api/v1/interests/", {"purpose": MATCHING}).json()["results"][0]
    assert item == {"slug": "music:shoegaze", "label": "Shoegaze", "category": "music",
                    "weight": 1.0, "provider": "sandbox"}


def test_withdrawing_consent_removes_them_at_once(api, user, held):
    api.put(f"/api/v1/consent/purposes/{MATCHING}/", {"granted": True})
    assert listed(api, MATCHING) == {("music:shoegaze", "sandbox", 1.0),
                                     ("music:folk", "spotify", 0.25)}
    api.put(f"/api/v1/consent/purposes/{MATCHING}/providers/sandbox/", {"granted": False})
    assert listed(api, MATCHING) == {("music:folk", "spotify", 0.25)}
    api.put(f"/api/v1/consent/purposes/{MATCHING}/", {"granted": False})
    assert listed(api, MATCHING) == set()


def test_another_persons_interests_never_appear(api, user, other_user, held):
    theirs = make_connection(other_user, "sandbox", external_id="o-1")
    hold(theirs, "music:polka", MATCHING, 1.0)
    consent_set(user=other_user, purpose=MATCHING, granted=True)
    consent_set(user=user, purpose=MATCHING, granted=True)
    assert "music:polka" not in {slug for slug, _, _ in listed(api, MATCHING)}


def test_the_list_is_paged(api, user, held):
    consent_set(user=user, purpose=MATCHING, granted=True)
    first = api.get("/api/v1/interests/", {"purpose": MATCHING, "page_size": 1}).json()
    assert len(first["results"]) == 1 and first["next"]
    second = api.get(first["next"]).json()
    assert {first["results"][0]["slug"], second["results"][0]["slug"]} == {
        "music:shoegaze", "music:folk"}


@pytest.mark.parametrize("query,code", [({}, "purpose_required"), ({"purpose": ""},
                                        "purpose_required"), ({"purpose": "ads"},
                                        "unknown_purpose")])
def test_the_purpose_is_required_and_must_exist(api, held, query, code):
    response = api.get("/api/v1/interests/", query)
    assert response.status_code == 400
    assert error_code(response) == code
    assert "purpose" in response.json()["error"]["fields"]


def test_without_a_token_the_answer_is_401(anon):
    assert anon.get("/api/v1/interests/", {"purpose": MATCHING}).status_code == 401
