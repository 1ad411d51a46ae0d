"""Sync leases on integrations.clock: claims go stale after the TTL, running streams renew them.

A fake clock (tests/fake_clock.py) moves time, so these tests wait no real time and no
assertion depends on how long anything took.
"""

from datetime import timedelta

import pytest

from integrations.models import Connection, SyncRun
from integrations.providers.registry import get_provider
from integrations.streams import LEASE_RENEW_SECONDS, StreamSync
from integrations.sync import sync_request
from tests.factories import make_connection, make_user


@pytest.fixture
def connection(db, monkeypatch):
    monkeypatch.setattr("integrations.sync.enqueue_many", lambda func, batch: None)
    return make_connection(make_user(), "sandbox")


def test_a_claim_is_exclusive_until_its_ttl_has_passed(connection, fake_clock, settings):
    ttl = settings.THINKALIKE_SYNC_CLAIM_TTL_SECONDS
    first = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    connection.refresh_from_db()
    assert connection.sync_claimed_at == fake_clock.now()

    fake_clock.advance(ttl - 1)
    assert sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL) is None

    fake_clock.advance(2)  # the worker holding it died: the claim is stale now
    second = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    assert second is not None and second.pk != first.pk
    first.refresh_from_db()
    assert (first.status, first.error_code) == (SyncRun.Status.FAILED, "lost")
    assert first.finished_at == fake_clock.now()


def test_a_running_stream_renews_its_lease_every_renew_interval(connection, fake_clock):
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    provider = get_provider("sandbox")
    claimed_at = fake_clock.now()
    stream = StreamSync(run=run, connection=connection, provider=provider,
                        stream=provider.streams[0], client=None)

    def lease() -> object:
        return Connection.objects.get(pk=connection.pk).sync_claimed_at

    fake_clock.advance(LEASE_RENEW_SECONDS - 1)
    stream._renew_lease()
    assert lease() == claimed_at  # not yet: one UPDATE per interval, not per page

    fake_clock.advance(1)
    stream._renew_lease()
    assert lease() == fake_clock.now() == claimed_at + timedelta(seconds=LEASE_RENEW_SECONDS)
