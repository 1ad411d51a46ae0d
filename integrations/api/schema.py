"""OpenAPI post-processing: every operation documents the one error shape for its 4xx."""

from __future__ import annotations

from rest_framework import serializers

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
