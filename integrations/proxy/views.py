"""The connection page's proxy setting: how long a custom API's answers are cached."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from integrations.exceptions import IntegrationError
from integrations.selectors import connection_get_for_user

from .conf import MAX_TTL_SECONDS
from .service import connection_set_proxy_ttl

# Messages people see; tests import them.
TTL_SAVED = "Answers through the proxy are now cached for {seconds} s."
TTL_INVALID = "Enter a whole number of seconds from 0 to {limit}."


class ProxyTtlForm(forms.Form):
    seconds = forms.IntegerField(min_value=0, max_value=MAX_TTL_SECONDS)


@login_required
@require_POST
def proxy_ttl_set(request: HttpRequest, pk: int) -> HttpResponse:
    connection = connection_get_for_user(user=request.user, pk=pk)
    form = ProxyTtlForm(request.POST)
    if not form.is_valid():
        messages.error(request, TTL_INVALID.format(limit=MAX_TTL_SECONDS))
    else:
        try:
            seconds = connection_set_proxy_ttl(connection=connection,
                                               seconds=form.cleaned_data["seconds"])
        except IntegrationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, TTL_SAVED.format(seconds=seconds))
    return redirect("integrations:connection_detail", pk=connection.pk)
