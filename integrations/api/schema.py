"""OpenAPI post-processing: every operation documents the one error shape for its 4xx."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.response import Response

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}
COMMON_ERRORS = {
    "400": "The request has errors.",
    "401": "No valid session or API token.",
    "403": "Not allowed (a session request without its CSRF token).",
    "404": "No such object among yours.",
    "405": "Method not allowed.",
    "406": "Only JSON answers are offered (Accept).",
    "413": "The request body is too large.",
    "415": "Unsupported media type.",
    "429": "Too many requests; see Retry-After.",
}


def add_error_responses(result: dict, generator, request, public) -> dict:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components[ERROR_COMPONENT] = ERROR_SCHEMA
    components.pop("_ErrorDetail", None)  # folded into Error
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in COMMON_ERRORS.items():
                responses.setdefault(code, {
                    "description": description,
                    "content": {"application/json": {"schema": ref}},
                })
    return result


class _ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ErrorSerializer(serializers.Serializer):
    """The one error shape, for views to name in ``extend_schema(responses={409: ...})``."""

    error = _ErrorDetailSerializer()


class SchemaView(SpectacularAPIView):
    """/api/schema/: the public schema is the same for every request, and generating it takes
    about 0.2 s, so each process builds it once per API version (a public URL must not be a
    cheap way to burn CPU)."""

    _built: ClassVar[dict[str | None, Any]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        with self._lock:
            if version not in self._built:
                generator = self.generator_class(urlconf=self.urlconf, api_version=version,
                                                 patterns=self.patterns)
                self._built[version] = generator.get_schema(request=None,
                                                            public=self.serve_public)
        filename = self._get_filename(request, version)
        return Response(data=self._built[version],
                        headers={"Content-Disposition": f'inline; filename="{filename}"'})
