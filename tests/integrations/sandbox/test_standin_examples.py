"""In the demo the connect page of a provider with a stand-in says what to type; what it says
passes the provider's own form and connects against the stand-in."""

import pytest
from django.urls import reverse

from consent.purposes import PURPOSES
from consent.services import consent_set
from integrations.forms import ConnectForm
from integrations.models import Connection
from integrations.providers.registry import PROVIDERS
from integrations.services import connection_connect_with_form
from tests.factories import make_user

# Those connected through their own sign-in page have no form to type the example into: the demo
# stores it (tests/integrations/sandbox/test_standin_anime_demo.py).
WITH_STAND_INS = [p for p in PROVIDERS.values() if p.stand_in and not p.auth.via_allauth]
# Plain values some providers ask for beside the example key; the stand-in takes any.
BESIDE_THE_KEY = {"plausible": {"site_id": "demo.example.com"}}


@pytest.mark.parametrize("provider", WITH_STAND_INS, ids=lambda p: p.slug)
def test_the_example_connects_against_the_stand_in(provider, sandbox, settings, db, client,
                                                   django_capture_on_commit_callbacks):
    settings.THINKALIKE_STAND_INS = True
    user = make_user(f"{provider.slug}@example.com")
    for purpose in PURPOSES:
        consent_set(user=user, purpose=purpose, granted=True)
    client.force_login(user)
    page = client.get(reverse("integrations:connect", args=[provider.slug])).content.decode()
    assert provider.stand_in_example in page
    assert provider.stand_in_username in page  # a password grant's one account

    (field,) = [f for f in provider.connect_fields() if f.secret]
    values = {field.name: provider.stand_in_example, **BESIDE_THE_KEY.get(provider.slug, {})}
    if provider.stand_in_username:
        values["username"] = provider.stand_in_username
    form = ConnectForm(values, provider=provider)
    assert form.is_valid(), form.errors
    connection = connection_connect_with_form(user=user, provider=provider,
                                              fields=form.cleaned_data)
    assert connection.status == Connection.Status.ACTIVE
    assert sandbox.paths() and all(p.startswith(f"/sandbox/stand-ins/{provider.slug}/")
                                   for p in sandbox.paths())


def test_without_stand_ins_the_page_says_nothing_of_them(client, db, settings):
    settings.THINKALIKE_STAND_INS = False
    client.force_login(make_user())
    page = client.get(reverse("integrations:connect", args=["stripe"])).content.decode()
    assert "stand-in" not in page
