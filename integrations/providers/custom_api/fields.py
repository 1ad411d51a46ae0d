"""The custom API's connect form, and the checks its values pass before any request is sent.

The form offers every choosable auth kind's fields (the person picks the kind in the same form);
only the chosen kind's values are required, tested and kept.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from integrations.auth import CHOOSABLE, RESERVED_HEADERS, AuthKind
from integrations.exceptions import ConnectionTestFailed
from integrations.formfields import FormField
from integrations.outbound import check_base_url

# Messages people see; tests import them.
UNKNOWN_KIND = "Choose how the API authenticates requests."
MISSING_VALUES = "For this kind of authentication, fill in: {labels}."
INVALID_VALUE = "Enter a valid {label}: no spaces, line breaks or other special characters."
RESERVED_HEADER = "The header {name} cannot carry the key: it steers the request itself. " \
                  "Use the header the API documents, such as X-Api-Key."
BAD_TEST_PATH = "The test path must be a path under the base URL, such as /status " \
                "(no address of its own, no query, no // and no ..)."

KIND_LABELS = {AuthKind.BEARER: "Bearer token", AuthKind.API_KEY: "API key in a header",
               AuthKind.BASIC: "User name and password (Basic)", AuthKind.NONE: "None"}
DEFAULT_TEST_PATH = "/"
MAX_TEST_PATH = 200
# Path characters only (unreserved, sub-delimiters, "/", ":", "@", "%"): no space, no "\", and
# no query, which is where a key would go, and the path is kept in plain Connection.config.
TEST_PATH = r"[A-Za-z0-9._~!$&'()*+,;=:@%/-]{1,200}"

FORM_FIELDS = (
    FormField("name", "Name", "What to call this API on its card.", max_length=80),
    FormField("base_url", "Base URL", "Such as https://api.example.com/v1/. Only https "
              "addresses on the public internet are connected to.", max_length=255),
    FormField("auth_kind", "Authentication", choices=tuple(
        (kind.value, label) for kind, label in KIND_LABELS.items() if kind in CHOOSABLE)),
)
TEST_PATH_FIELD = FormField(
    "test_path", "Test path", "A cheap GET under the base URL that needs the credentials "
    "(default /). Any 2xx answer passes.", max_length=MAX_TEST_PATH, pattern=TEST_PATH,
    required=False)


def _kind_fields() -> tuple[FormField, ...]:
    """Every choosable strategy's fields once each, optional: only the chosen kind's are
    required, which the form cannot know before the kind is read (``clean`` checks them)."""
    seen: dict[str, FormField] = {}
    for strategy in CHOOSABLE.values():
        for declared in strategy.fields():
            seen.setdefault(declared.name, dataclasses.replace(declared, required=False))
    return tuple(seen.values())


CONNECT_FIELDS = (*FORM_FIELDS, *_kind_fields(), TEST_PATH_FIELD)


def safe_test_path(value: str) -> str:
    """``value`` if it only names a path (and query) under the base URL, else refused."""
    value = (value or "").strip() or DEFAULT_TEST_PATH
    lowered = value.lower()
    if (not re.fullmatch(TEST_PATH, value) or "//" in value or ".." in value
            or "%2e" in lowered or "%2f" in lowered or urlsplit(value.lstrip("/")).scheme):
        raise ConnectionTestFailed(BAD_TEST_PATH)
    return value


def clean(fields: Mapping[str, str]) -> dict[str, str]:
    """The values to test and keep: the chosen kind's (others dropped, so no secret of an
    unchosen kind is stored), a safe test path, and the base URL checked and normalised.

    The base URL goes last: it is checked by resolving its host, the slowest step."""
    kind = fields.get("auth_kind") or ""
    if kind not in CHOOSABLE:
        raise ConnectionTestFailed(UNKNOWN_KIND)
    chosen = CHOOSABLE[kind].fields()
    missing = [f.label for f in chosen if not (fields.get(f.name) or "").strip()]
    if missing:
        raise ConnectionTestFailed(MISSING_VALUES.format(labels=", ".join(missing)))
    for declared in chosen:  # what the form checks, for callers that skip the form
        if declared.pattern and not re.fullmatch(declared.pattern, fields[declared.name]):
            raise ConnectionTestFailed(INVALID_VALUE.format(label=declared.label.lower()))
    header = (fields.get("header_name") or "").strip()
    if kind == AuthKind.API_KEY and header.lower() in RESERVED_HEADERS:
        raise ConnectionTestFailed(RESERVED_HEADER.format(name=header))
    kept = {f.name for f in (*FORM_FIELDS, *chosen)}
    cleaned = {name: value for name, value in fields.items() if name in kept}
    cleaned["test_path"] = safe_test_path(fields.get("test_path", ""))
    cleaned["base_url"] = check_base_url(fields.get("base_url", ""))
    return cleaned
