"""The ``fake_clock`` fixture: integrations.clock runs on a clock that moves only when slept on.

Register with ``pytest_plugins``. Rate budgets, HTTP backoff and sync leases then wait no real
time, and a test asserts the exact waits they asked for (``fake_clock.sleeps``).
"""

import pytest

from integrations import clock


@pytest.fixture
def fake_clock():
    fake = clock.FakeClock()
    previous = clock.install(fake)
    yield fake
    clock.install(previous)
