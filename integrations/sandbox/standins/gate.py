"""The gate every stand-in view passes: sandbox on, the methods the stand-in answers (GET
unless it says more), a key of the provider's shape."""

import json
import re
import secrets
from collections.abc import Callable, Iterable
from functools import wraps

from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, QueryDict
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from integrations.sandbox.guards import sandbox_required


def stand_in_view(key: re.Pattern, refused: Callable[[], HttpResponse],
                  headers: Callable[[HttpRequest], dict[str, str]],
                  methods: Iterable[str] = ("GET",)):
    """Answer with ``view`` when the Authorization header fully matches ``key``, else with
    ``refused()`` (the provider's own 401); ``headers(request)`` are added to every answer,
    refusals included, as the real API does (rate limits, request ids). ``methods`` are those
    a view of this stand-in may answer; each view says which of them it takes."""
    methods = tuple(methods)

    def decorate(view, allowed_methods: Iterable[str] = ("GET",)):
        allowed_methods = tuple(allowed_methods)
        if not set(allowed_methods) <= set(methods):
            raise ValueError(f"this stand-in answers only {methods}")

        @wraps(view)
        @sandbox_required
        @require_http_methods(allowed_methods)
        def answer(request, *args, **kwargs):
            allowed = key.fullmatch(request.headers.get("Authorization", ""))
            response = view(request, *args, **kwargs) if allowed else refused()
            for name, value in headers(request).items():
                response[name] = value
            return response

        # A write comes from an API client with a bearer token, never from a browser form.
        return answer if set(allowed_methods) <= {"GET", "HEAD"} else csrf_exempt(answer)

    return decorate


# Request bodies are hostile: a stand-in answers what it cannot read with the provider's own
# refusal, never a 500.

def json_body(request: HttpRequest) -> object | None:
    """The parsed JSON body (``{}`` when empty), or None when it cannot be read: bad syntax or
    encoding (ValueError), or nested deeper than Python's parser goes (RecursionError)."""
    try:
        return json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        return None


def form_body(request: HttpRequest) -> QueryDict | None:
    """The form body, or None when it has more fields or files than Django parses (else
    Django's bare 400 page answers instead of the provider)."""
    try:
        # Django parses request.POST (urlencoded or multipart) for a POST only; a PATCH's
        # urlencoded form is read from the body.
        if request.method == "POST":
            return request.POST
        return QueryDict(request.body, encoding=request.encoding)
    except (TooManyFieldsSent, TooManyFilesSent):
        return None


def secret_matches(given: str, expected: str) -> bool:
    """Constant-time comparison; False for a ``given`` that UTF-8 cannot encode (a JSON
    string may hold a lone surrogate)."""
    try:
        return secrets.compare_digest(given.encode(), expected.encode())
    except UnicodeEncodeError:
        return False
