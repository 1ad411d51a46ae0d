"""Consent settings: per-purpose toggles for all services and per service, the history, and a
receipt per change."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from integrations.providers.registry import PROVIDERS
from integrations.selectors import (
    catalog_for_user,
    connection_get_for_user,
    unconsented_streams_for_owner,
)
from integrations.services import connection_stream_purge

from .forms import ConsentSetForm
from .models import ALL_PROVIDERS, ConsentEvent
from .purposes import PURPOSES
from .receipts import consent_receipt, receipt_filename
from .selectors import consent_event_get_for_user, consent_history, consent_map
from .services import consent_set

# Messages people see; tests import them.
TURNED_ON = "{purpose} is now on for {scope}."
TURNED_OFF = "{purpose} is now off for {scope}."
UNCHANGED = "{purpose} was already {state} for {scope}."
BAD_REQUEST = (
    "That consent change was not understood (unknown purpose or service); nothing changed."
)
ALL_SERVICES = "all services"
# History answers; a disconnect forgets the per-service answer rather than turning it off.
ANSWER_ON = "Turned on"
ANSWER_OFF = "Turned off"
ANSWER_FORGOTTEN = "Forgotten (service disconnected)"
ANSWER_CLEARED = "Cleared (the all-services answer applies)"

STREAM_PURGED = "Deleted {items} items that {name} {stream} had collected."
UNKNOWN_STREAM = "That service has no such kind of data; nothing was deleted."

HISTORY_SHOWN = 20


def _scope_name(provider: str) -> str:
    return PROVIDERS[provider].name if provider in PROVIDERS else ALL_SERVICES


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _answer(event: ConsentEvent) -> str:
    if event.granted is None:
        return ANSWER_CLEARED
    if event.source == ConsentEvent.Source.DISCONNECT:
        return ANSWER_FORGOTTEN
    return ANSWER_ON if event.granted else ANSWER_OFF


@login_required
@require_GET
def consent_settings(request: HttpRequest) -> HttpResponse:
    answers = consent_map(user=request.user)
    # Connected services, and the ones that could be connected here.
    providers = [
        entry.provider for entry in catalog_for_user(user=request.user)
        if entry.connection is not None or entry.provider.is_available()
    ]
    purposes = []
    for purpose in PURPOSES.values():
        everywhere = answers.get((ALL_PROVIDERS, purpose.slug))
        rows = []
        for provider in providers:
            explicit = answers.get((provider.slug, purpose.slug))
            rows.append({
                "provider": provider,
                "explicit": explicit,
                "effective": bool(everywhere) if explicit is None else explicit,
            })
        purposes.append({"purpose": purpose, "all": bool(everywhere), "providers": rows})
    history = [
        {"event": event, "purpose_name": PURPOSES[event.purpose].name
         if event.purpose in PURPOSES else event.purpose, "scope": _scope_name(event.provider),
         "answer": _answer(event)}
        for event in consent_history(user=request.user, limit=HISTORY_SHOWN)
    ]
    return render(request, "consent/settings.html", {
        "purposes": purposes, "history": history, "next": request.get_full_path(),
        "purge_offers": unconsented_streams_for_owner(user=request.user),
    })


@login_required
@require_POST
def consent_set_view(request: HttpRequest) -> HttpResponse:
    form = ConsentSetForm(request.POST)
    if not form.is_valid():
        return render(request, "consent/bad_request.html", {"message": BAD_REQUEST}, status=400)
    purpose, provider = form.cleaned_data["purpose"], form.cleaned_data["provider"]
    granted = form.cleaned_data["granted"]
    changed = consent_set(user=request.user, purpose=purpose, granted=granted, provider=provider,
                          source=ConsentEvent.Source.PAGE)
    names = {"purpose": PURPOSES[purpose].name, "scope": _scope_name(provider)}
    if not changed:
        messages.info(request, UNCHANGED.format(state="on" if granted else "off", **names))
    else:
        messages.success(request, (TURNED_ON if granted else TURNED_OFF).format(**names))
    return redirect(_safe_next(request) or "consent:settings")


@login_required
@require_POST
def purge_stream(request: HttpRequest) -> HttpResponse:
    """Delete what one stream collected: offered once no allowed purpose uses it."""
    try:
        pk = int(request.POST.get("connection", ""))
    except ValueError:
        return render(request, "consent/bad_request.html", {"message": UNKNOWN_STREAM},
                      status=400)
    connection = connection_get_for_user(user=request.user, pk=pk)
    stream = request.POST.get("stream", "")
    try:
        label = PROVIDERS[connection.provider].get_stream(stream).label
        deleted = connection_stream_purge(connection=connection, stream=stream,
                                          actor=f"user:{request.user.pk}")
    except KeyError:
        return render(request, "consent/bad_request.html", {"message": UNKNOWN_STREAM},
                      status=400)
    messages.success(request, STREAM_PURGED.format(
        items=deleted, name=PROVIDERS[connection.provider].name, stream=label.lower()))
    return redirect("consent:settings")


@login_required
@require_GET
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    """One consent change as a JSON file to keep; another person's id is 404."""
    event = consent_event_get_for_user(user=request.user, pk=pk)
    response = JsonResponse(consent_receipt(event=event), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="{receipt_filename(event)}"'
    # A person's own record: no shared cache keeps it.
    response["Cache-Control"] = "private, no-store"
    return response
