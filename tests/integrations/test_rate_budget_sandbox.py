"""Several worker processes share the sandbox's limit through the rate budget: the sandbox
never sees more than the limit in any window, refuses nothing, and the limit is well used."""

import pytest

from benchmarks import rate_budget

pytestmark = pytest.mark.realserver


def test_four_processes_stay_within_the_sandbox_limit():
    result = rate_budget.run(processes=4, limit=15, window=1.0, duration=5.0)
    assert result["max_in_any_window"] <= 15, result
    assert result["refused_by_sandbox"] == 0, result
    assert result["client_failures"] == 0, result
    assert result["min_utilisation"] >= 0.8, result  # the benchmark reports the exact figure
