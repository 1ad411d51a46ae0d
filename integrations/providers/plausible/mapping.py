"""Plausible answers -> values (pure functions). Nothing is stored: the data is shown on the
person's dashboard through the proxy, so only the connect test reads an answer here."""

from collections.abc import Mapping
from typing import Any

from integrations.exceptions import ProviderDataError
from integrations.providers.base import require


def visitors_of(aggregate: Any) -> int:
    """``results.visitors.value`` of an aggregate answer: a count, so a whole number >= 0
    (not a string, a float or a boolean)."""
    results = require(aggregate, "results", Mapping)
    value = require(results, "visitors", Mapping).get("value")
    if type(value) is not int or value < 0:
        raise ProviderDataError("Plausible's visitor count is not a whole number")
    return value
