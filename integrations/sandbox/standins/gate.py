"""The gate every stand-in view passes: sandbox on, the methods the stand-in answers (GET
unless it says more), a key of the provider's shape."""

import re
from collections.abc import Callable, Iterable
from functools import wraps

from django.http import HttpRequest, HttpResponse
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
