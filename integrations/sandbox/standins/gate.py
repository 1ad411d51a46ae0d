"""The gate every stand-in view passes: sandbox on, GET only, a key of the provider's shape."""

import re
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from integrations.sandbox.guards import sandbox_required


def stand_in_view(key: re.Pattern, refused: Callable[[], HttpResponse],
                  headers: Callable[[HttpRequest], dict[str, str]]):
    """Answer with ``view`` when the Authorization header fully matches ``key``, else with
    ``refused()`` (the provider's own 401); ``headers(request)`` are added to every answer,
    refusals included, as the real API does (rate limits, request ids)."""

    def decorate(view):
        @wraps(view)
        @sandbox_required
        @require_GET
        def answer(request):
            allowed = key.fullmatch(request.headers.get("Authorization", ""))
            response = view(request) if allowed else refused()
            for name, value in headers(request).items():
                response[name] = value
            return response

        return answer

    return decorate
