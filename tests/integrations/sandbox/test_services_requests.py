"""The request log's selectors that tests and benchmarks assert the rate limit with."""

import pytest

from integrations.sandbox.models import SandboxRequest
from integrations.sandbox.services import (
    counted_request_times,
    max_requests_in_any_window,
    request_admit,
    request_log_clear,
    requests_per_window,
)

pytestmark = pytest.mark.django_db


def log(*times, counted=True, client_id="app"):
    SandboxRequest.objects.bulk_create(
        SandboxRequest(at=t, client_id=client_id, path="/p", status=200, counted=counted)
        for t in times
    )


def test_window_selectors_use_counted_requests_only():
    log(100.0, 100.2, 100.4, 101.3, 105.0)
    log(100.1, 100.3, counted=False)  # 304s and refusals
    log(100.05, 100.15, client_id="other")
    assert max_requests_in_any_window(1.0) == 5
    assert max_requests_in_any_window(1.0, client_id="app") == 3
    assert max_requests_in_any_window(1.0, since=100.3, client_id="app") == 2
    assert requests_per_window(1.0, client_id="app") == [3, 1, 0, 0, 0, 1]
    assert requests_per_window(2.0, since=100.0) == [6, 0, 1]
    assert counted_request_times(since=101.0) == [101.3, 105.0]
    assert max_requests_in_any_window(1.0, since=200.0) == 0
    assert request_log_clear() == 9
    assert requests_per_window(1.0) == []


def test_admission_counts_only_this_clients_window(monkeypatch):
    monkeypatch.setattr("integrations.sandbox.services.time.time", lambda: 50.0)
    log(49.5, 49.8)
    log(49.6, 49.7, 49.9, client_id="other")
    log(48.0, 49.0)  # older than the window: (now - 1 s, now]
    who = {"client_id": "app", "account": "ana", "path": "/p", "window_seconds": 1.0}
    admitted = request_admit(**who, limit=3)
    assert (admitted.admitted, admitted.remaining, admitted.reset_at) == (True, 0, 50.5)
    refused = request_admit(**who, limit=3)
    assert (refused.admitted, refused.retry_after, refused.reset_at) == (False, 1, 50.5)
    assert SandboxRequest.objects.filter(client_id="app", at=50.0).count() == 2
