"""One error shape for every 4xx answer of the API:

    {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}

``fields`` maps a field name (or ``non_field_errors``) to its messages when a request body was
refused. Views raise DRF exceptions or ``ApiError``; this handler gives them the shape.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApiError(exceptions.APIException):
    """An answer the API gives on purpose: a status, a stable code and a message for people."""

    def __init__(self, *, status_code: int, code: str, message: str,
                 fields: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None):
        self.status_code = status_code
        self.code = code
        self.fields = fields or {}
        self.headers = headers or {}
        super().__init__(detail=message, code=code)


class Conflict(ApiError):
    def __init__(self, message: str, code: str = "conflict"):
        super().__init__(status_code=status.HTTP_409_CONFLICT, code=code, message=message)


class BadRequest(ApiError):
    def __init__(self, message: str, code: str = "invalid",
                 fields: dict[str, list[str]] | None = None):
        super().__init__(status_code=status.HTTP_400_BAD_REQUEST, code=code, message=message,
                         fields=fields)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


@csrf_exempt  # it changes nothing, and must answer JSON, not the CSRF failure page
def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """A path under /api/v1/ that no route matches: the one error shape, not the site's page."""
    return JsonResponse(error_body("not_found", "No such endpoint."), status=404)


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [str(message) for value in detail.values() for message in _flatten(value)]
    if isinstance(detail, list):
        return [str(message) for item in detail for message in _flatten(item)]
    return [str(detail)]


def _fields(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(name): _flatten(value) for name, value in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, then the body reshaped; anything DRF does not handle stays a 500."""
    if isinstance(exc, RequestDataTooBig):
        exc = ApiError(status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                       code="payload_too_large", message="The request body is too large.")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        response.data = error_body(exc.code, str(exc.detail), exc.fields)
        for name, value in exc.headers.items():
            response[name] = value
    elif isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", "The request has errors; see fields.",
                                   _fields(exc.detail))
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else "error"
        response.data = error_body(code, " ".join(_flatten(detail)))
    return response
