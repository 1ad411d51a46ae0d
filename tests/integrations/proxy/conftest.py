import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_proxy_cache(db):
    """Start from an empty cache: with REDIS_URL the cache (and the rate limit) lives in Redis,
    which outlives the test's transaction and a previous run's ids."""
    cache.clear()
    yield
    cache.clear()
