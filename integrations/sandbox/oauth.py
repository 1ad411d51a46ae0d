"""The token endpoint (RFC 6749 section 3.2) and revocation (RFC 7009)."""

from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .guards import authenticated_client_id, json_error, sandbox_required
from .services import InvalidGrant, IssuedTokens, auth_code_redeem, grant_refresh, grant_revoke


def _no_store(response: HttpResponse) -> HttpResponse:
    # RFC 6749 5.1: responses carrying tokens must not be cached.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _token_response(tokens: IssuedTokens) -> JsonResponse:
    body = {
        "access_token": tokens.access_token,
        "token_type": "Bearer",
        "expires_in": tokens.expires_in,
        "scope": tokens.scope,
    }
    if tokens.refresh_token:
        body["refresh_token"] = tokens.refresh_token
    return JsonResponse(body)


def _unauthorised_client() -> JsonResponse:
    return json_error(
        "invalid_client", 401, "Client authentication failed.",
        WWW_Authenticate='Basic realm="sandbox"',
    )


@csrf_exempt
@sandbox_required
@require_POST
def token(request):
    client_id = authenticated_client_id(request)
    if client_id is None:
        return _no_store(_unauthorised_client())
    grant_type = request.POST.get("grant_type", "")
    try:
        if grant_type == "authorization_code":
            tokens = auth_code_redeem(
                code=request.POST.get("code", ""), client_id=client_id,
                redirect_uri=request.POST.get("redirect_uri", ""),
                code_verifier=request.POST.get("code_verifier", ""),
            )
        elif grant_type == "refresh_token":
            tokens = grant_refresh(
                refresh_token=request.POST.get("refresh_token", ""), client_id=client_id
            )
        else:
            return _no_store(json_error("unsupported_grant_type", 400))
    except InvalidGrant as error:
        return _no_store(json_error("invalid_grant", 400, str(error)))
    return _no_store(_token_response(tokens))


@csrf_exempt
@never_cache
@sandbox_required
@require_POST
def revoke(request):
    client_id = authenticated_client_id(request)
    if client_id is None:
        return _unauthorised_client()
    token_value = request.POST.get("token", "")
    if not token_value:
        return json_error("invalid_request", 400, "The token parameter is required.")
    # token_type_hint is only an optimisation: both hashes are checked either way.
    grant_revoke(token=token_value, client_id=client_id)
    # RFC 7009 2.2: an unknown or already revoked token is answered with 200 as well.
    return HttpResponse(status=200)
