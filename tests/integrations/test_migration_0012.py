"""Migration 0012: existing imported items gain an empty library link, and it reverses."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("integrations", "0011_actionrun_input_hash")]
AFTER = [("integrations", "0012_externalitem_library_link")]


@pytest.mark.django_db(transaction=True)
def test_existing_items_are_kept_unlinked_and_the_migration_reverses():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = old.get_model("auth", "User").objects.create(username="ada", email="ada@example.com")
    conn = old.get_model("integrations", "Connection").objects.create(
        user=user, provider="anilist", external_account_id="x", account_label="x")
    old.get_model("integrations", "ExternalItem").objects.create(
        connection=conn, kind="anime", external_id="21", title="ONE PIECE",
        attrs={"status": "CURRENT"}, content_hash="h")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    item = new.get_model("integrations", "ExternalItem").objects.get()
    assert (item.library_entry_id, item.synced, item.attrs) == (None, {}, {"status": "CURRENT"})

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
