"""The consent page: GET shows it, POST (Allow or Deny) sends the browser back to the client.

The redirect URI must equal one registered for the client (guards.registered_redirect_uris)
before anything is shown; any other gets a 400 page instead of a redirect, so a code is never
delivered to another host, port, scheme or path, and the sandbox is no open redirector.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django import forms
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .guards import is_known_client, is_registered_redirect_uri, sandbox_required
from .services import auth_code_issue

SCOPES = {
    "library.read": "See your saved tracks and top artists",
    "profile.read": "See your account name",
}
FORWARDED_PARAMS = ("client_id", "redirect_uri", "response_type", "state", "scope",
                    "code_challenge", "code_challenge_method")
REDIRECT_URI_NOT_REGISTERED = "The redirect_uri is not registered for this client."


class AuthorizeError(Exception):
    pass


@dataclass(frozen=True)
class AuthorizeRequest:
    params: dict[str, str]
    scopes: list[str]

    @classmethod
    def parse(cls, data) -> "AuthorizeRequest":
        params = {name: data.get(name, "") for name in FORWARDED_PARAMS}
        if not is_known_client(params["client_id"]):
            raise AuthorizeError("Unknown client_id.")
        if not is_registered_redirect_uri(params["redirect_uri"]):
            raise AuthorizeError(REDIRECT_URI_NOT_REGISTERED)
        if params["response_type"] != "code":
            raise AuthorizeError("Only response_type=code is supported.")
        method = params["code_challenge_method"]
        if params["code_challenge"] and method not in ("S256", "plain", ""):
            raise AuthorizeError("Unsupported code_challenge_method.")
        # allauth joins scopes with spaces; tolerate commas too. Unknown scopes are not granted.
        requested = set(params["scope"].replace(",", " ").split())
        return cls(params, sorted(requested & SCOPES.keys()) or sorted(SCOPES))

    def redirect_back(self, **result):
        query = urlencode({**result, **({"state": s} if (s := self.params["state"]) else {})})
        separator = "&" if urlsplit(self.params["redirect_uri"]).query else "?"
        return redirect(f"{self.params['redirect_uri']}{separator}{query}")


class ConsentForm(forms.Form):
    account = forms.RegexField(
        label="Sandbox account", regex=re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$"),
        initial="demo-listener", max_length=40,
        error_messages={"invalid": "2-40 characters: lowercase letters, digits, - and _."},
    )


@sandbox_required
@require_http_methods(["GET", "POST"])
def authorize(request):
    try:
        auth = AuthorizeRequest.parse(request.POST if request.method == "POST" else request.GET)
    except AuthorizeError as error:
        return render(request, "sandbox/authorize_error.html", {"error": error}, status=400)
    form = ConsentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if "deny" in request.POST:
            return auth.redirect_back(error="access_denied")
        if form.is_valid():
            code = auth_code_issue(
                account=form.cleaned_data["account"], client_id=auth.params["client_id"],
                redirect_uri=auth.params["redirect_uri"], scope=" ".join(auth.scopes),
                code_challenge=auth.params["code_challenge"],
                code_challenge_method=auth.params["code_challenge_method"] or "plain",
            )
            return auth.redirect_back(code=code)
    context = {"form": form, "auth": auth, "scopes": [(s, SCOPES[s]) for s in auth.scopes]}
    return render(request, "sandbox/authorize.html", context, status=400 if form.errors else 200)
