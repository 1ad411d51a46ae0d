"""What goes to a provider and what comes back, as plain values.

An ApiRequest is everything needed to send one request again later (it is what a checkpoint
stores, so a killed GraphQL or cursor sync resumes too); authentication is never part of it:
the connection's auth strategy adds that when the request is sent. An ApiResponse is what a
paginator or a provider hook reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"})
# A stored request larger than this is not a page request: it is not kept or resumed.
MAX_CHECKPOINT_BYTES = 32 * 1024


@dataclass(frozen=True)
class ApiRequest:
    """One request, without its authentication.

    ``url`` is a path relative to the provider's API base, or an absolute URL on its origin
    (the client refuses any other). ``json`` and ``data`` (a form body) are exclusive.
    ``number`` counts the pages of a pass (1 for the first), for the stream's page cap.
    """

    url: str
    method: str = "GET"
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None
    data: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    number: int = 1

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}")
        if self.json is not None and self.data is not None:
            raise ValueError("a request has a JSON body or a form body, not both")

    def with_params(self, **params: Any) -> ApiRequest:
        """The same request with some query parameters set (None removes one)."""
        merged = {**self.params, **params}
        return replace(self, params={k: v for k, v in merged.items() if v is not None})

    def next_page(self, **changes: Any) -> ApiRequest:
        """The request of the following page: ``changes`` applied, ``number`` one more."""
        return replace(self, number=self.number + 1, **changes)

    def as_checkpoint(self) -> dict[str, Any]:
        return {
            "url": self.url, "method": self.method, "params": dict(self.params),
            "json": self.json, "data": dict(self.data) if self.data is not None else None,
            "headers": dict(self.headers), "number": self.number,
        }

    @classmethod
    def from_checkpoint(cls, saved: Any) -> ApiRequest | None:
        """A request saved by ``as_checkpoint``; None when it is not one (an older format,
        a hand-edited row, something too large)."""
        if not isinstance(saved, Mapping) or not isinstance(saved.get("url"), str):
            return None
        try:
            if len(json.dumps(saved, default=str)) > MAX_CHECKPOINT_BYTES:
                return None
            params, headers = saved.get("params") or {}, saved.get("headers") or {}
            data, number = saved.get("data"), saved.get("number") or 1
            if not (isinstance(params, Mapping) and isinstance(headers, Mapping)
                    and (data is None or isinstance(data, Mapping))
                    and isinstance(number, int) and not isinstance(number, bool) and number >= 1):
                return None
            return cls(
                url=saved["url"], method=saved.get("method") or "GET", params=dict(params),
                json=saved.get("json"), data=dict(data) if data is not None else None,
                headers={str(k): str(v) for k, v in headers.items()}, number=number,
            )
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class ApiResponse:
    """A provider's answer: status, headers (case-insensitive) and the decoded JSON payload
    (None for a 304 or an empty body)."""

    status: int
    headers: Mapping[str, str]
    payload: Any = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str:
        return (self.headers.get("ETag") or "")[:200]
