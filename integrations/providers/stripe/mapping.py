"""Stripe records -> dashboard items (pure functions). Business data: no interests.

Only what a dashboard of totals needs is kept: amounts, currency, status and dates. Customers'
names, emails, addresses and descriptions are other people's personal data and stay at Stripe.
"""

from collections.abc import Mapping
from typing import Any

from integrations.providers.base import MappedItem, require

MAX_CODE = 20  # currency codes are 3 letters, statuses a word: anything longer is cut


def _flag(record: Mapping[str, Any], key: str) -> bool:
    return record.get(key) is True


def map_charge(record: Mapping[str, Any], segment: Mapping[str, str]) -> MappedItem:
    amount = require(record, "amount", int)
    currency = require(record, "currency")[:MAX_CODE]
    refunded = record.get("amount_refunded")
    return MappedItem(
        external_id=require(record, "id"),
        title=f"{amount} {currency} charge",
        attrs={
            "amount": amount,
            "amount_refunded": refunded if type(refunded) is int else 0,
            "currency": currency,
            "status": require(record, "status")[:MAX_CODE],
            "created": require(record, "created", int),
            "paid": _flag(record, "paid"),
            "refunded": _flag(record, "refunded"),
        },
    )


def map_customer(record: Mapping[str, Any], segment: Mapping[str, str]) -> MappedItem:
    customer_id = require(record, "id")
    currency = record.get("currency")
    return MappedItem(
        external_id=customer_id,
        title=f"customer {customer_id}",
        attrs={
            "created": require(record, "created", int),
            "currency": currency[:MAX_CODE] if isinstance(currency, str) else "",
            "delinquent": _flag(record, "delinquent"),
        },
    )
