"""Migration 0005: the old summed UserInterest rows become per-purpose rows, recomputed."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("integrations", "0004_credential_refresh_lease")]
AFTER = [("integrations", "0005_userinterest_per_purpose")]


@pytest.mark.django_db(transaction=True)
def test_existing_interests_are_recomputed_per_purpose():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = old.get_model("auth", "User").objects.create(username="ada", email="ada@example.com")
    conn = old.get_model("integrations", "Connection").objects.create(
        user=user, provider="sandbox", external_account_id="x", account_label="x")
    item = old.get_model("integrations", "ExternalItem").objects
    item.create(connection=conn, kind="track", external_id="t", title="t",
                attrs={"genres": ["rock"]}, content_hash="h")
    for n in range(3):
        item.create(connection=conn, kind="artist", external_id=f"a{n}", title="a",
                    attrs={"genres": ["jazz"]}, content_hash="h")
    interest = old.get_model("integrations", "Interest").objects.create(
        slug="music-jazz", label="Jazz", category="music")
    old.get_model("integrations", "UserInterest").objects.create(  # the old, summed shape
        user=user, interest=interest, connection=conn, weight=1.0,
        purposes=["community_recommendation", "matching"])

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    rows = set(new.get_model("integrations", "UserInterest").objects.values_list(
        "interest__slug", "purpose", "weight"))
    assert rows == {
        ("music-rock", "community_recommendation", 1.0),  # tracks alone serve this one
        ("music-rock", "matching", round(1 / 3, 4)),
        ("music-jazz", "matching", 1.0),
    }
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)  # and back: derived rows are dropped, the schema restored
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
