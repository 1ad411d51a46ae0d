"""What a proxied request may name: a declared path (or, for a custom API, a safe path under its
base URL), a declared method, declared query parameters. Pure functions, no I/O.

The attack here is path traversal and request forgery: a path that climbs out of the API base
(``..``), names another host (``//evil``, ``https://evil``), or hides either behind encoding
(``%2e%2e``, ``%2f``). The path arrives decoded once (Django decodes the URL); anything that is
still encoded, and every character that is not a plain path character, is refused rather than
decoded again, and the upstream URL is the API base plus the checked segments, never a URL
resolution that could leave it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .spec import ProxyEndpoint, ProxyError, ProxySpec

MAX_PATH_LENGTH = 1024
MAX_SEGMENTS = 32
MAX_PARAMS = 30
MAX_PARAM_NAME = 64
# A custom API's parameters are not declared: each value is bounded by this instead.
MAX_FREE_VALUE = 500
MAX_QUERY_LENGTH = 4000
# One path segment: RFC 3986 unreserved characters and sub-delimiters, ":" and "@". No "%"
# (an encoded character the URL still held after Django decoded it once), no "/", "?", "#",
# "\", space or control character.
SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@-]{1,200}")
PARAM_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,64}")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")

# Messages callers see; tests import them.
NOT_PROXIED = "This path is not one the provider lets the proxy reach."
BAD_PATH = "The path is not a plain path under the API (no .., //, encoded / or address)."
METHOD_NOT_ALLOWED = "{method} is not allowed on this path."
UNKNOWN_PARAM = "Not a parameter of this endpoint."
REPEATED_PARAM = "Given more than once."
TOO_LONG = "Longer than {limit} characters."
NOT_MATCHING = "Not a valid value."
NOT_A_CHOICE = "Not one of: {choices}."
REQUIRED = "Required."
TOO_MANY_PARAMS = "Too many parameters (at most {limit})."
BAD_PARAM_NAME = "Not a valid parameter name."


@dataclass(frozen=True)
class Target:
    """A checked request: the normalised path (as the caller names it), the path relative to
    the API base, the method, the parameters in order, and the endpoint it matched (None for a
    custom API's free path)."""

    path: str
    relative: str
    method: str
    params: tuple[tuple[str, str], ...]
    endpoint: ProxyEndpoint | None

    @property
    def content_types(self) -> tuple[str, ...]:
        return self.endpoint.content_types if self.endpoint else ("application/json",)

    def sorted_params(self) -> list[tuple[str, str]]:
        return sorted(self.params)


def _dot_segment(segment: str) -> bool:
    """"", "." or "..", also before a ";": servers that read path parameters (Tomcat, Jetty,
    Spring) take "..;x" for "..", so "/api/..;/admin" would climb out of the base."""
    return segment.split(";")[0] in ("", ".", "..")


def split_path(path: Any, *, semicolons: bool = True) -> list[str]:
    """The segments of ``path``, or ProxyError 400 when it is anything but a plain path.
    ``semicolons=False`` refuses any ";" (a custom API's free path: see ``match``)."""
    if not isinstance(path, str) or not path or len(path) > MAX_PATH_LENGTH:
        raise ProxyError(400, "bad_path", BAD_PATH)
    trailing = path.endswith("/") and len(path) > 1
    segments = path.strip("/").split("/") if path.strip("/") else []
    if trailing:
        segments.append("")  # kept: some APIs tell /items from /items/
    body = segments[:-1] if trailing else segments
    if len(segments) > MAX_SEGMENTS or "//" in path.lstrip("/") or path.startswith("//"):
        raise ProxyError(400, "bad_path", BAD_PATH)
    for segment in body:
        if (not SEGMENT.fullmatch(segment) or _dot_segment(segment)
                or (not semicolons and ";" in segment)):
            raise ProxyError(400, "bad_path", BAD_PATH)
    # "https:" first would read as a scheme to anything that resolves the URL later.
    if body and ":" in body[0]:
        raise ProxyError(400, "bad_path", BAD_PATH)
    return segments


def _template_matches(template: str, segments: list[str]) -> bool:
    parts = template.strip("/").split("/")
    if len(parts) != len(segments):
        return False
    for part, segment in zip(parts, segments, strict=True):
        if PLACEHOLDER.fullmatch(part):
            if not segment:  # an empty trailing segment is not a value
                return False
        elif part != segment:
            return False
    return True


def match(spec: ProxySpec, method: str, path: str) -> tuple[str, ProxyEndpoint | None]:
    """(normalised path, endpoint) for ``method`` on ``path``; ProxyError 400, 404 or 405.

    A custom API's path has no ";" at all: it reaches any path of a server we know nothing
    of, where a path parameter may steer routing or a session, and no API it is meant for
    needs one. A declared endpoint's literal parts have none; a placeholder's value may hold
    one (never as a dot segment): it goes to a known provider's own router, as its id."""
    segments = split_path(path, semicolons=not spec.any_path)
    normal = "/" + "/".join(segments)
    method = (method or "").upper()
    if spec.any_path:
        if method != "GET":
            raise ProxyError(405, "method_not_allowed", METHOD_NOT_ALLOWED.format(method=method))
        return normal, None
    found = [e for e in spec.endpoints if _template_matches(e.path, segments)]
    if not found:
        raise ProxyError(404, "not_proxied", NOT_PROXIED)
    for endpoint in found:
        allowed = [m for m in endpoint.methods
                   if m == "GET" or (m == "POST" and endpoint.read_only_post)]
        if method in allowed:
            return normal, endpoint
    raise ProxyError(405, "method_not_allowed", METHOD_NOT_ALLOWED.format(method=method))


def relative_path(spec: ProxySpec, path: str) -> str:
    """``path`` relative to the API base: the spec's ``base_path`` taken off, no leading "/"."""
    prefix = spec.base_path.rstrip("/")
    if prefix:
        if not (path == prefix or path.startswith(prefix + "/")):
            raise ProxyError(404, "not_proxied", NOT_PROXIED)
        path = path[len(prefix):]
    return path.lstrip("/")


def param_pairs(params: Any) -> list[tuple[str, str]]:
    """``params`` (pairs, a QueryDict, or a mapping of a value or a list of values) as pairs."""
    if params is None:
        return []
    if hasattr(params, "lists"):  # a QueryDict keeps every value of a repeated name
        return [(str(k), str(v)) for k, values in params.lists() for v in values]
    if isinstance(params, Mapping):
        pairs = []
        for key, value in params.items():
            values = value if isinstance(value, list | tuple) else [value]
            pairs.extend((str(key), str(v)) for v in values)
        return pairs
    if isinstance(params, Iterable) and not isinstance(params, str | bytes):
        pairs = []
        for pair in params:
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                raise ProxyError(400, "invalid", "Parameters are (name, value) pairs.")
            pairs.append((str(pair[0]), str(pair[1])))
        return pairs
    raise ProxyError(400, "invalid", "Parameters are (name, value) pairs.")


def _printable(value: str) -> bool:
    return all(ch.isprintable() for ch in value)


def check_params(endpoint: ProxyEndpoint | None, pairs: list[tuple[str, str]]) -> None:
    """ProxyError 400 with per-parameter messages when ``pairs`` do not fit ``endpoint``'s
    declared parameters (or, for a free path, the general bounds)."""
    errors: dict[str, list[str]] = {}
    if len(pairs) > MAX_PARAMS:
        raise ProxyError(400, "invalid", TOO_MANY_PARAMS.format(limit=MAX_PARAMS))
    if sum(len(k) + len(v) + 2 for k, v in pairs) > MAX_QUERY_LENGTH:
        raise ProxyError(400, "invalid", TOO_LONG.format(limit=MAX_QUERY_LENGTH))
    seen: set[str] = set()
    declared = {f.name: f for f in endpoint.params} if endpoint is not None else None
    for name, value in pairs:
        key = name[:MAX_PARAM_NAME]
        if not PARAM_NAME.fullmatch(name):
            errors.setdefault(key, []).append(BAD_PARAM_NAME)
            continue
        if not _printable(value):
            errors.setdefault(key, []).append(NOT_MATCHING)
            continue
        if declared is None:
            if len(value) > MAX_FREE_VALUE:
                errors.setdefault(key, []).append(TOO_LONG.format(limit=MAX_FREE_VALUE))
            continue
        field = declared.get(name)
        if field is None:
            errors.setdefault(key, []).append(UNKNOWN_PARAM)
            continue
        if name in seen:
            errors.setdefault(key, []).append(REPEATED_PARAM)
            continue
        seen.add(name)
        if len(value) > field.max_length:
            errors.setdefault(key, []).append(TOO_LONG.format(limit=field.max_length))
        elif field.choices and value not in {c for c, _ in field.choices}:
            errors.setdefault(key, []).append(
                NOT_A_CHOICE.format(choices=", ".join(c for c, _ in field.choices)))
        elif field.pattern and not re.fullmatch(field.pattern, value):
            errors.setdefault(key, []).append(NOT_MATCHING)
    if declared is not None:
        for field in declared.values():
            if field.required and field.name not in seen and field.name not in errors:
                errors[field.name] = [REQUIRED]
    if errors:
        raise ProxyError(400, "invalid", "The request has errors; see fields.", fields=errors)


def resolve(spec: ProxySpec, method: str, path: str, params: Any) -> Target:
    """The checked Target of a proxied request, or ProxyError (400, 404, 405)."""
    normal, endpoint = match(spec, method, path)
    pairs = param_pairs(params)
    check_params(endpoint, pairs)
    return Target(path=normal, relative=relative_path(spec, normal), method=method.upper(),
                  params=tuple(pairs), endpoint=endpoint)
