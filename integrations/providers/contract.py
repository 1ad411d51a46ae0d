"""What a provider's folder gives the contract test (tests/integrations/test_contract.py).

Every registered provider has ``integrations/providers/<slug>/contract.py`` defining
``CONTRACT = Contract(...)``: the answers its real API gives, shaped like the real ones (with
the headers real servers send), for a connect, a full sync of at least two pages, a no-op
re-sync, a sample of its error answers, and a disconnect. The test runs every provider through
the shared services with these answers mocked; a provider without a contract fails it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integrations.classify import Verdict


@dataclass(frozen=True)
class Answer:
    """One mocked request and its answer. ``url`` has no query string; ``params`` (when given)
    must match the query exactly, ``json_body`` must be contained in a JSON request body
    (GraphQL variables), ``form`` must match a form body exactly."""

    method: str
    url: str
    json: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] | None = None
    json_body: Mapping[str, Any] | None = None
    form: Mapping[str, str] | None = None
    body: str | None = None  # a raw body instead of ``json`` (an empty 304, say)


@dataclass(frozen=True)
class ErrorCase:
    """A sample error answer and what the provider's classify_response makes of it."""

    status: int
    verdict: Verdict
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Contract:
    # How the test connects. Form providers: the submitted connect form. OAuth providers: the
    # account id allauth would have found, and the token the grant would have given.
    fields: Mapping[str, str] = field(default_factory=dict)
    oauth_uid: str = ""
    oauth_token: str = "contract-access-token-0001"
    # The answers to the connect's credential test (test_credentials, or test_connection for
    # OAuth providers).
    connect: tuple[Answer, ...] = ()
    # Every answer of a full sync, each used once in order per URL. At least two pages in all.
    sync: tuple[Answer, ...] = ()
    # ExternalItem kind -> rows after the full sync.
    expected_items: Mapping[str, int] = field(default_factory=dict)
    # The answers of a second full sync that finds nothing new (default: the same as ``sync``;
    # a provider with conditional requests answers 304s here).
    resync: tuple[Answer, ...] | None = None
    # The answers disconnecting gets (a revocation), if any.
    revoke: tuple[Answer, ...] = ()
    # At least one each of 401, 403, 429 and a 5xx.
    errors: tuple[ErrorCase, ...] = ()
    # Host name -> the address the test's DNS gives it. A base URL the person types is resolved
    # and checked at connect (integrations/outbound.py), and tests never ask a real resolver.
    dns: Mapping[str, str] = field(default_factory=dict)


def fixture(contract_file: str, name: str) -> Any:
    """A real-shaped answer kept in the provider folder's ``fixtures/<name>.json``."""
    return json.loads((Path(contract_file).parent / "fixtures" / f"{name}.json").read_text())
