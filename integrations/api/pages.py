"""The API tokens page: make a token (its value shown once), see when each was last used,
revoke one. The same services as /api/v1/tokens/."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ..api_tokens import (
    DEFAULT_EXPIRY_DAYS,
    EXPIRY_CHOICES_DAYS,
    TokenLimitReached,
    api_token_create,
    api_token_revoke,
    api_tokens_for_owner,
)


class ApiTokenForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100,
                           help_text="What will use it, e.g. “weekly report script”.")
    expires_in_days = forms.TypedChoiceField(
        label="Expires after", coerce=int, initial=DEFAULT_EXPIRY_DAYS,
        choices=[(days, f"{days} days") for days in EXPIRY_CHOICES_DAYS],
    )


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    created = None
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, plain = api_token_create(user=request.user, **form.cleaned_data)
        except (ValueError, TokenLimitReached) as exc:
            form.add_error(None, str(exc))
        else:
            # Rendered, not redirected: the value must not travel through the session or a URL.
            created = {"token": token, "value": plain}
            form = ApiTokenForm()
    response = render(request, "integrations/api_tokens.html", {
        "form": form, "created": created, "tokens": api_tokens_for_owner(user=request.user),
    })
    if created:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def api_token_delete(request: HttpRequest, key: str) -> HttpResponse:
    if api_token_revoke(user=request.user, token_key=key):
        messages.success(request, "Token revoked: anything using it is refused from now on.")
    else:
        messages.error(request, "You have no such token.")
    return redirect("api_tokens")
