"""Check a response of the API against the OpenAPI schema the site serves.

Every test of tests/api/ goes through ``CheckedClient``: a response whose status the schema does
not document for that operation, or whose JSON does not match the documented schema, fails the
test. The schema is generated once per test session, as /api/schema/ serves it.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from drf_spectacular.generators import SchemaGenerator
from openapi_schema_validator import OAS30Validator
from rest_framework.test import APIClient


@functools.cache
def openapi_schema() -> dict:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    # Through JSON, as it is served: enums and lazy strings become plain values.
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(schema))


@functools.cache
def _operations() -> list[tuple[re.Pattern, str, dict]]:
    found = []
    for template, item in openapi_schema()["paths"].items():
        # {path} (the proxy's provider path) spans segments; other parameters are one each.
        pattern = re.sub(r"\{[^/}]+\}", r"[^/]+", template.replace("{path}", "\0"))
        regex = re.compile("^" + pattern.replace("\0", ".*") + "$")
        for method, operation in item.items():
            found.append((regex, method.upper(), operation))
    # Literal paths before templated ones: /connections/{id}/ must not eat /connections/x/.
    found.sort(key=lambda entry: entry[0].pattern.count("[^/]+"))
    return found


class SchemaMismatch(AssertionError):
    pass


def operation_for(method: str, path: str) -> dict | None:
    for regex, op_method, operation in _operations():
        if op_method == method.upper() and regex.match(path):
            return operation
    return None


def check_response(method: str, path: str, status: int, body: bytes,
                   content_type: str) -> None:
    operation = operation_for(method, path)
    if operation is None:
        if status in (404, 405):
            return  # no such operation: nothing documented to conform to
        raise SchemaMismatch(f"{method} {path} is not in the schema (answered {status})")
    responses = operation.get("responses", {})
    documented = responses.get(str(status)) or responses.get("default")
    if documented is None:
        raise SchemaMismatch(
            f"{method} {path} answered {status}, which the schema does not document "
            f"({sorted(responses)})"
        )
    content = documented.get("content")
    if not content:
        if body.strip():
            raise SchemaMismatch(f"{method} {path} {status}: a body where none is documented")
        return
    media = content.get(content_type.split(";")[0].strip()) or content.get("application/json")
    if media is None or "schema" not in media:
        return
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise SchemaMismatch(f"{method} {path} {status}: not JSON ({exc})") from None
    root: dict[str, Any] = {"components": openapi_schema().get("components", {}),
                            **media["schema"]}
    errors = sorted(OAS30Validator(root).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        raise SchemaMismatch(
            f"{method} {path} {status}: {first.message} at {list(first.absolute_path)}"
        )


def check_streamed(method: str, path: str, status: int, content_type: str) -> None:
    operation = operation_for(method, path)
    if operation is None:
        raise SchemaMismatch(f"{method} {path} is not in the schema (answered {status})")
    documented = operation.get("responses", {}).get(str(status))
    if documented is None or content_type.split(";")[0].strip() not in documented.get(
            "content", {}):
        raise SchemaMismatch(f"{method} {path} streamed {status} {content_type}, which the "
                             "schema does not document")


class CheckedClient(APIClient):
    """An APIClient whose every answer under /api/v1/ must match the schema."""

    def request(self, **request):
        response = super().request(**request)
        path = request.get("PATH_INFO", "")
        if path.startswith("/api/v1/") and response.streaming:
            # A file (the export's zip): its status and media type must be documented; the
            # body is left for the test to read.
            check_streamed(request["REQUEST_METHOD"], path, response.status_code,
                           response.get("Content-Type", ""))
        elif path.startswith("/api/v1/"):
            check_response(request["REQUEST_METHOD"], path, response.status_code,
                           response.content, response.get("Content-Type", ""))
        return response
