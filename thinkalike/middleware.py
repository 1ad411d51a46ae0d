"""Site-wide middleware."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render

# What a 405 page tells the person; tests import them.
POST_ONLY_ADVICE = (
    "This address only accepts form submissions. Go back to Connected Services and use the "
    "button there."
)
OTHER_METHOD_ADVICE = (
    "This address does not accept that kind of request. Go back to Connected Services and "
    "carry on from there."
)


class MethodNotAllowedPageMiddleware:
    """Django has no handler405: ``require_POST`` and friends answer with an empty body.

    This turns such an answer into a page in the site's layout that says what to do, keeping
    the 405 status and the Allow header. Responses with a body of their own are left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not isinstance(response, HttpResponseNotAllowed) or response.content:
            return response
        allowed = [m.strip() for m in response.get("Allow", "").split(",") if m.strip()]
        advice = POST_ONLY_ADVICE if allowed == ["POST"] else OTHER_METHOD_ADVICE
        page = render(request, "405.html", {"allowed": allowed, "advice": advice}, status=405)
        page["Allow"] = response["Allow"]
        return page
