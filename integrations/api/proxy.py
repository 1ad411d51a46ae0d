"""/api/v1/connections/{id}/proxy/{path}: a provider's API read through the server, which adds
the stored credential, caches, rate-limits and audits (integrations/proxy/service.py).

The answer is the provider's JSON as it came; headers say where it came from: ``X-Cache``
(HIT, MISS, REFRESH or STALE), ``Age`` and ``Cache-Control: private, max-age`` (how long it
stays fresh from when it was fetched: max-age less Age is what is left, RFC 9111), and for a
stale copy ``X-Proxy-Stale: true``. ``Cache-Control: no-cache`` from the caller asks the
provider again (within the rate limit).
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from ..proxy.selectors import connection_get_for_proxy
from ..proxy.service import proxy_request
from ..proxy.spec import ProxyError, ProxyResult
from .errors import ApiError
from .schema import ErrorSerializer

PARAMETERS = [
    OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH,
                     description="One of your connections."),
    OpenApiParameter("path", OpenApiTypes.STR, OpenApiParameter.PATH,
                     description="The provider's path, slashes included, e.g. v1/charges; only "
                                 "paths the provider declares (any under a custom API's base)."),
    OpenApiParameter("Cache-Control", OpenApiTypes.STR, OpenApiParameter.HEADER,
                     description="no-cache: ask the provider again instead of the cache."),
]
RESPONSES = {
    200: OpenApiResponse(OpenApiTypes.ANY, description="The provider's answer as it came. "
                         "X-Cache says HIT, MISS, REFRESH or STALE; Age its age in seconds."),
    502: OpenApiResponse(ErrorSerializer, description="The provider refused the credential "
                         "(reconnect_required: the connection now needs reconnecting), refused "
                         "this request only (upstream_forbidden) or sent an answer that is "
                         "not passed on."),
    503: OpenApiResponse(ErrorSerializer, description="The provider is down or limiting "
                         "requests; see Retry-After."),
    504: OpenApiResponse(ErrorSerializer, description="The provider did not answer in time."),
}


def _max_age(result: ProxyResult) -> int:
    """The answer's whole freshness lifetime: a client subtracts ``Age`` itself (RFC 9111
    4.2.3), so taking the age off here as well would count it twice. A stale copy has none."""
    return 0 if result.cache == "STALE" else max(0, result.ttl_seconds)


def _respond(result: ProxyResult) -> HttpResponse:
    if result.payload is None:  # an empty answer (204): JSON null, not an empty body
        response = HttpResponse(b"null", status=200, content_type="application/json")
    elif result.content_type == "application/json":
        response = Response(result.payload, status=200)
    else:  # a type the endpoint declares besides JSON: passed as text
        response = HttpResponse(result.payload, status=200, content_type=result.content_type)
    for name, value in result.headers.items():
        response[name] = value
    response["X-Cache"] = result.cache
    response["Age"] = str(result.age_seconds)
    response["Cache-Control"] = f"private, max-age={_max_age(result)}"
    if result.cache == "STALE":
        response["X-Proxy-Stale"] = "true"
    return response


def _api_error(exc: ProxyError) -> ApiError:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
    return ApiError(status_code=exc.status, code=exc.code, message=exc.message,
                    fields=exc.fields, headers=headers)


class _ProviderFormatParam:
    """DRF's settings, but no URL_FORMAT_OVERRIDE: ``?format=`` is the provider's."""

    URL_FORMAT_OVERRIDE = None

    def __getattr__(self, name: str):
        return getattr(api_settings, name)


class ProxyContentNegotiation(DefaultContentNegotiation):
    """Every query parameter of a proxied request is the provider's (a custom API's
    ``?format=csv``): DRF must not take ``format`` to pick its renderer (a 404 for any format
    it has none for). The answer is chosen by the Accept header alone."""

    settings = _ProviderFormatParam()


class ConnectionProxyView(APIView):
    """GET (and POST where an endpoint is declared read-only) through the proxy."""

    content_negotiation_class = ProxyContentNegotiation

    def _proxy(self, request: Request, method: str, body=None) -> HttpResponse:
        connection = connection_get_for_proxy(user=request.user, pk=self.kwargs["id"])
        refresh = "no-cache" in request.headers.get("Cache-Control", "").lower()
        try:
            result = proxy_request(connection=connection, user=request.user, method=method,
                                   path="/" + self.kwargs["path"], params=request.query_params,
                                   refresh=refresh, body=body)
        except ProxyError as exc:
            raise _api_error(exc) from None
        return _respond(result)

    @extend_schema(operation_id="connections_proxy_get", parameters=PARAMETERS,
                   responses=RESPONSES, tags=["proxy"])
    def get(self, request: Request, *args, **kwargs) -> HttpResponse:
        return self._proxy(request, "GET")

    @extend_schema(operation_id="connections_proxy_post", parameters=PARAMETERS,
                   request=OpenApiTypes.ANY, responses=RESPONSES, tags=["proxy"])
    def post(self, request: Request, *args, **kwargs) -> HttpResponse:
        return self._proxy(request, "POST", body=request.data)
