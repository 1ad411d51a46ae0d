"""Connected Services pages. Each view reads through selectors or calls one service.

The pages work without JavaScript; htmx only refreshes the status of a running sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from consent.purposes import PURPOSES
from consent.selectors import allows_from_map, consent_map

from .actions import connection_action_perform
from .credentials import CREDENTIAL_UNREADABLE, credential_unreadable
from .exceptions import (
    ConnectionTestFailed,
    IntegrationError,
    ProviderNotAvailable,
    SyncInProgress,
)
from .forms import ActionForm, ConnectForm, ConnectionSettingsForm, PersonalAppForm
from .health import Health, connection_health
from .health_report import connection_sync_charts, connection_usage_chart, interest_charts
from .models import ActionRun, Connection, SyncRun
from .oauth_apps import (
    PersonalAppInvalid,
    PersonalAppUnsupported,
    oauth_app_check_supported,
    oauth_app_delete,
    oauth_app_for,
    oauth_app_providers,
    oauth_app_redirect_uri,
    oauth_app_save,
    provider_available_for,
)
from .providers.base import Action, Provider
from .providers.registry import PROVIDERS, UnknownProvider, get_provider
from .providers.retired import RETIRED_REASON, is_retired, provider_or_retired
from .selectors import (
    CatalogEntry,
    action_runs_for_connection,
    catalog_for_user,
    connection_get_for_user,
    imported_counts,
    interests_for_owner,
    items_page_for_owner,
    latest_run,
    runs_for_connection,
    sync_run_get_for_user,
)
from .services import (
    connection_can_sync,
    connection_connect_with_form,
    connection_data_purge,
    connection_disconnect,
    connection_update_settings,
)
from .sync import SKIP_NO_CONSENT, SKIP_SYNC_OFF, SKIP_TURNED_OFF, sync_request

# Messages people see; tests import them.
CONNECTED = "Connected {name} as {label}. The first sync has been queued."
CONNECT_WITH_SIGN_IN = "{name} is connected through its own sign-in page: use its Connect button."
NOT_AVAILABLE = "{name} cannot be connected here: {reason}"
SYNC_QUEUED = "Sync queued."
SYNC_ALREADY_QUEUED = "A sync is already queued or running."
SYNC_NEEDS_RECONNECT = "{name} needs reconnecting before it can sync."
SYNC_TURNED_OFF = "Syncing is turned off for this connection."
NOTHING_TO_SYNC = "{name} has no data to sync: it is connected for its actions only."
SYNC_RETIRED = "{name} is no longer offered here, so it cannot sync."
DISCONNECTED = (
    "Disconnected {name}. Its stored credential, {items} imported items and its interests "
    "were deleted."
)
DISCONNECTED_ENTRIES = "{entries} library entries only {name} fed were deleted too."
REVOKED = "Access was also revoked at {name}."
NOT_REVOKED = "Access was not revoked at {name}: {note}"
NOTHING_TO_REVOKE = "{name} only shared public data, so there was no access to revoke."
DATA_PURGED = (
    "Deleted {count} imported items, their interests and {entries} library entries only {name} "
    "fed. The next sync imports them again unless you turn off consent or disconnect."
)
SETTINGS_SAVED = "Sync settings saved."
ACTION_DONE = "{label}: done."
ACTION_FAILED = "{label} failed: {error}"
ACTION_STILL_RUNNING = "{label} was already sent and has not finished yet."
APP_SAVED = "Your own {name} app is saved: your next connect goes through it."
APP_REMOVED = ("Your own {name} app was removed. A connection made through it must reconnect "
               "when its access needs renewing.")
UNKNOWN_PURPOSE = "There is no purpose called “{purpose}”. Showing every interest instead."

RECONNECT_TO_RESUME = "Syncing is paused until you reconnect {name}."
NOTHING_SYNCED = "Nothing synced: {reasons}."
SKIP_REASON_WORDS = {
    SKIP_NO_CONSENT: "no consent for any purpose its data serves",
    SKIP_TURNED_OFF: "turned off in this connection's settings",
    SKIP_SYNC_OFF: "syncing is turned off for this connection",
}
STREAM_STATUS_WORDS = {
    "succeeded": "Synced",
    "skipped": "Not synced",
    "failed": "Failed",
}
REASON_WORDS = {"reauth_required": "the service asked for you to reconnect"}

RECENT_RUNS = 10
ITEMS_PER_PAGE = 50
SEARCH_MAX_LENGTH = 100
STATUS_WORDS = {
    Connection.Status.ACTIVE: "Connected",
    Connection.Status.NEEDS_REAUTH: "Needs reconnecting",
    Connection.Status.ERROR: "Error",
    Connection.Status.DISABLED: "Disabled",
}


def _provider_of(connection: Connection) -> Provider:
    # A retired provider (no longer installed) is stood in for: the person must still be able
    # to see the connection, delete what it imported and disconnect it.
    return provider_or_retired(connection.provider)


def _purpose_names(slugs) -> list[str]:
    return [PURPOSES[s].name for s in slugs if s in PURPOSES]


def _connect_url(provider: Provider) -> str:
    """Where the Connect button goes: allauth's login URL (POST) or our credential form."""
    if provider.auth.via_allauth and provider.allauth_id:
        return reverse(f"{provider.allauth_id}_login") + "?process=connect"
    return reverse("integrations:connect", args=[provider.slug])


def needs_reconnect(connection: Connection) -> bool:
    """Flagged for reconnecting, or its stored credential can no longer be decrypted."""
    return connection.status == Connection.Status.NEEDS_REAUTH or credential_unreadable(connection)


def run_note(run: SyncRun | None) -> str:
    """What a finished run that synced nothing skipped, and why, in words."""
    if run is None or run.status != SyncRun.Status.SKIPPED:
        return ""
    reasons: list[str] = []
    for outcome in (run.streams or {}).values():
        if isinstance(outcome, dict) and outcome.get("status") == "skipped":
            words = SKIP_REASON_WORDS.get(outcome.get("reason"), outcome.get("reason") or "")
            if words and words not in reasons:
                reasons.append(words)
    return NOTHING_SYNCED.format(reasons="; ".join(reasons) or "no data was due")


@dataclass(frozen=True)
class Card:
    entry: CatalogEntry
    status: str  # not_connected, unavailable, or a Connection.Status value
    status_words: str
    connect_url: str
    connect_is_post: bool
    purpose_names: list[str]
    needs_reconnect: bool
    run_note: str
    own_app: bool  # the person saved their own OAuth app for it
    health: Health | None  # None: not connected, or its provider is retired


def _card(entry: CatalogEntry, own_apps: set[str]) -> Card:
    provider, connection = entry.provider, entry.connection
    available = provider_available_for(provider, own_apps)
    retired = is_retired(provider)
    reconnect = connection is not None and not retired and needs_reconnect(connection)
    if retired:
        status, words = "retired", RETIRED_REASON
    elif connection is not None:
        status = Connection.Status.NEEDS_REAUTH if reconnect else connection.status
        words = STATUS_WORDS.get(status, status)
        if status == Connection.Status.ACTIVE:
            words = f"Connected as {connection.account_label or connection.external_account_id}"
    elif available:
        status, words = "not_connected", "Not connected"
    else:
        status, words = "unavailable", "Not available here"
    return Card(
        entry=entry,
        status=status,
        status_words=words,
        connect_url=_connect_url(provider) if available else "",
        connect_is_post=provider.auth.via_allauth,
        purpose_names=_purpose_names(entry.consented_purposes),
        needs_reconnect=reconnect,
        run_note=run_note(entry.latest_run),
        own_app=provider.slug in own_apps,
        health=(connection_health(connection, now=timezone.now())
                if connection is not None and not retired else None),
    )


@login_required
@require_GET
def connected_services(request: HttpRequest) -> HttpResponse:
    own_apps = oauth_app_providers(user=request.user)
    cards = [_card(entry, own_apps)
             for entry in catalog_for_user(user=request.user, include_retired=True)]
    return render(request, "integrations/connected_services.html", {"cards": cards})


@login_required
@require_http_methods(["GET", "POST"])
def connect(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        provider = get_provider(slug)
    except UnknownProvider:
        raise Http404("No such service.") from None
    if provider.auth.via_allauth:
        messages.info(request, CONNECT_WITH_SIGN_IN.format(name=provider.name))
        return redirect("integrations:connected_services")
    if not provider.is_available():
        messages.error(request, NOT_AVAILABLE.format(
            name=provider.name, reason=provider.unavailable_reason()))
        return redirect("integrations:connected_services")
    form = ConnectForm(request.POST or None, provider=provider)
    if request.method == "POST" and form.is_valid():
        try:
            connection = connection_connect_with_form(
                user=request.user, provider=provider, fields=form.cleaned_data
            )
        except (ConnectionTestFailed, ProviderNotAvailable) as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, CONNECTED.format(
                name=provider.name,
                label=connection.account_label or connection.external_account_id,
            ))
            return redirect("integrations:connected_services")
    return render(request, "integrations/connect.html", {"provider": provider, "form": form})


def _personal_app_provider(slug: str) -> Provider:
    try:
        provider = get_provider(slug)
        oauth_app_check_supported(provider)
    except (UnknownProvider, PersonalAppUnsupported):
        raise Http404("No such service takes your own app.") from None
    return provider


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def personal_app(request: HttpRequest, slug: str) -> HttpResponse:
    """"Use your own app": the person's client id and secret for a provider. The secret is
    never rendered back; the page says only whether one is saved."""
    provider = _personal_app_provider(slug)
    app = oauth_app_for(user=request.user, provider=provider.slug)
    initial = {"client_id": app.client_id} if app else {}
    form = PersonalAppForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            oauth_app_save(user=request.user, provider=provider, actor=f"user:{request.user.pk}",
                           **form.cleaned_data)
        except PersonalAppInvalid as exc:
            for name, text in exc.fields.items():
                form.add_error(name, text)
        else:
            messages.success(request, APP_SAVED.format(name=provider.name))
            return redirect("integrations:personal_app", slug=provider.slug)
    return render(request, "integrations/personal_app.html", {
        "provider": provider, "app": app, "form": form,
        "redirect_uri": oauth_app_redirect_uri(request, provider),
    })


@login_required
@require_POST
def personal_app_delete(request: HttpRequest, slug: str) -> HttpResponse:
    provider = _personal_app_provider(slug)
    if oauth_app_delete(user=request.user, provider=provider, actor=f"user:{request.user.pk}"):
        messages.success(request, APP_REMOVED.format(name=provider.name))
    return redirect("integrations:personal_app", slug=provider.slug)


def _streams(provider: Provider, connection: Connection) -> list[dict[str, Any]]:
    answers = consent_map(user=connection.user)
    rows = []
    for stream in provider.streams:
        purposes = [
            {"name": PURPOSES[p].name, "allowed": allows_from_map(answers, p, provider.slug)}
            for p in stream.purposes if p in PURPOSES
        ]
        rows.append({
            "label": stream.label,
            "enabled": connection.stream_enabled(stream.name),
            "purposes": purposes,
            "allowed": any(p["allowed"] for p in purposes),
        })
    return rows


def _attrs_summary(attrs: Any) -> str:
    """A short plain-text line from an item's attrs (escaped by the template like any text)."""
    if not isinstance(attrs, dict):
        return ""
    parts = []
    for key, value in attrs.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value[:5]) + ("…" if len(value) > 5 else "")
        if value in ("", None, []):
            continue
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return " · ".join(parts)[:300]


@login_required
@require_GET
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    connection = connection_get_for_user(user=request.user, pk=pk)
    provider = _provider_of(connection)
    query = request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    page = items_page_for_owner(connection=connection, query=query,
                                page=request.GET.get("page"), per_page=ITEMS_PER_PAGE)
    reconnect = needs_reconnect(connection)
    status = Connection.Status.NEEDS_REAUTH if reconnect else connection.status
    runs = list(runs_for_connection(connection=connection, limit=RECENT_RUNS))
    action_labels = {action.name: action.label for action in provider.actions}
    action_runs = action_runs_for_connection(connection=connection, limit=RECENT_RUNS)
    return render(request, "integrations/connection_detail.html", {
        "connection": connection,
        "provider": provider,
        "status": status,
        "status_words": STATUS_WORDS.get(status, status),
        "needs_reconnect": reconnect,
        "health": connection_health(connection, now=timezone.now()),
        "credential_unreadable": credential_unreadable(connection),
        "credential_unreadable_message": CREDENTIAL_UNREADABLE,
        "streams": _streams(provider, connection),
        "runs": [{"run": run, "note": run_note(run)} for run in runs],
        "page": page,
        "items": [{"item": item, "summary": _attrs_summary(item.attrs)} for item in page],
        "query": query,
        "items_total": imported_counts(connection=connection)["items"],
        "connect_url": (_connect_url(provider) if provider_available_for(
            provider, oauth_app_providers(user=request.user)) else ""),
        "retired_message": RETIRED_REASON if is_retired(provider) else "",
        "actions": [_action_card(action, connection) for action in provider.actions],
        "settings_form": ConnectionSettingsForm(provider=provider, connection=connection),
        "action_runs": [{"run": run, "label": action_labels.get(run.action, run.action)}
                        for run in action_runs],
        "usage_chart": connection_usage_chart(connection=connection, today=timezone.now().date()),
        "sync_charts": connection_sync_charts(connection=connection),
    })


def _action_card(action: Action, connection: Connection) -> dict[str, Any]:
    granted = set(connection.scopes or ())
    return {
        "action": action,
        "form": ActionForm(action=action),
        "missing_scopes": [scope for scope in action.scopes if scope not in granted],
    }


@login_required
@require_POST
def action_perform(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    connection = connection_get_for_user(user=request.user, pk=pk)
    provider = _provider_of(connection)
    try:
        declared = provider.get_action(action)
    except KeyError:
        raise Http404("No such action.") from None
    data, key = ActionForm.submitted(declared, request.POST)
    try:
        run = connection_action_perform(connection=connection, action=declared.name, data=data,
                                        idempotency_key=key, actor=f"user:{request.user.pk}")
    except IntegrationError as exc:
        messages.error(request, exc.message)
    else:
        if run.status == ActionRun.Status.SUCCEEDED:
            text = ACTION_DONE.format(label=declared.label)
            messages.success(request, f"{text} {run.summary}".strip())
        elif run.status == ActionRun.Status.FAILED:
            messages.error(request, ACTION_FAILED.format(label=declared.label, error=run.error))
        else:
            messages.info(request, ACTION_STILL_RUNNING.format(label=declared.label))
    return redirect(reverse("integrations:connection_detail", args=[connection.pk]) + "#actions")


@login_required
@require_POST
def connection_settings(request: HttpRequest, pk: int) -> HttpResponse:
    connection = connection_get_for_user(user=request.user, pk=pk)
    provider = _provider_of(connection)
    form = ConnectionSettingsForm(request.POST, provider=provider, connection=connection)
    if form.is_valid():  # checkboxes: every submission is valid
        connection_update_settings(connection=connection, **form.settings(),
                                   actor=f"user:{request.user.pk}")
        messages.success(request, SETTINGS_SAVED)
    return redirect(reverse("integrations:connection_detail", args=[connection.pk]) + "#settings")


@login_required
@require_POST
def sync_now(request: HttpRequest, pk: int) -> HttpResponse:
    connection = connection_get_for_user(user=request.user, pk=pk)
    provider = _provider_of(connection)
    if is_retired(provider):
        messages.error(request, SYNC_RETIRED.format(name=provider.name))
        return redirect("integrations:connection_detail", pk=connection.pk)
    if not provider.streams:
        messages.info(request, NOTHING_TO_SYNC.format(name=provider.name))
        return redirect("integrations:connection_detail", pk=connection.pk)
    if not connection_can_sync(connection) or needs_reconnect(connection):
        if needs_reconnect(connection):
            messages.error(request, SYNC_NEEDS_RECONNECT.format(name=provider.name))
        else:
            messages.error(request, SYNC_TURNED_OFF)
        return redirect("integrations:connection_detail", pk=connection.pk)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    if run is None:
        messages.info(request, SYNC_ALREADY_QUEUED)
        run = latest_run(connection=connection)
    else:
        messages.success(request, SYNC_QUEUED)
    if run is None:
        return redirect("integrations:connection_detail", pk=connection.pk)
    return redirect("integrations:run_detail", pk=connection.pk, run_pk=run.pk)


def _run_context(run: SyncRun) -> dict[str, Any]:
    provider = _provider_of(run.connection)
    labels = {stream.name: stream.label for stream in provider.streams}
    streams = []
    for name, outcome in (run.streams or {}).items():
        outcome = outcome if isinstance(outcome, dict) else {}
        reason = outcome.get("reason") or ""
        streams.append({
            **outcome,
            "name": name,
            "label": labels.get(name, name),
            "status_words": STREAM_STATUS_WORDS.get(outcome.get("status"), "Unknown"),
            "reason": SKIP_REASON_WORDS.get(reason) or REASON_WORDS.get(reason) or reason,
        })
    return {"run": run, "connection": run.connection, "provider": provider, "streams": streams}


@login_required
@require_GET
def run_detail(request: HttpRequest, pk: int, run_pk: int) -> HttpResponse:
    run = sync_run_get_for_user(user=request.user, connection_pk=pk, pk=run_pk)
    return render(request, "integrations/run_detail.html", _run_context(run))


@never_cache
@login_required
@require_GET
def run_status(request: HttpRequest, pk: int, run_pk: int) -> HttpResponse:
    """The fragment htmx polls while a run is queued or running."""
    run = sync_run_get_for_user(user=request.user, connection_pk=pk, pk=run_pk)
    return render(request, "integrations/_run_status.html", _run_context(run))


@login_required
@require_http_methods(["GET", "POST"])
def disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    connection = connection_get_for_user(user=request.user, pk=pk)
    provider = _provider_of(connection)
    counts = imported_counts(connection=connection)
    items = counts["items"]
    if request.method == "GET":
        return render(request, "integrations/disconnect.html", {
            "connection": connection,
            "provider": provider,
            "items": items,
            "interests": counts["interests"],
        })
    result = connection_disconnect(connection=connection, actor=f"user:{request.user.pk}")
    messages.success(request, DISCONNECTED.format(name=provider.name, items=items))
    entries = result.purged.other.get("library_entries", 0) if result.purged else 0
    if entries:
        messages.success(request, DISCONNECTED_ENTRIES.format(entries=entries, name=provider.name))
    if result.revoked:
        messages.success(request, REVOKED.format(name=provider.name))
    elif is_retired(provider):
        messages.warning(request, NOT_REVOKED.format(name=provider.name, note=result.revoke_note))
    elif provider.auth.public_only:
        messages.info(request, NOTHING_TO_REVOKE.format(name=provider.name))
    else:
        messages.warning(request, NOT_REVOKED.format(name=provider.name, note=result.revoke_note))
    return redirect("integrations:connected_services")


@login_required
@require_POST
def purge_data(request: HttpRequest, pk: int) -> HttpResponse:
    connection = connection_get_for_user(user=request.user, pk=pk)
    provider = _provider_of(connection)
    try:
        result = connection_data_purge(connection=connection, actor=f"user:{request.user.pk}")
    except SyncInProgress as exc:
        messages.warning(request, exc.message)
        return redirect("integrations:connection_detail", pk=connection.pk)
    messages.success(request, DATA_PURGED.format(
        count=result.items, entries=result.other.get("library_entries", 0), name=provider.name))
    return redirect("integrations:connection_detail", pk=connection.pk)


@login_required
@require_GET
def interests(request: HttpRequest) -> HttpResponse:
    purpose = request.GET.get("purpose") or None
    status = 200
    error = ""
    if purpose is not None and purpose not in PURPOSES:
        error, purpose, status = UNKNOWN_PURPOSE.format(purpose=purpose[:50]), None, 400
    every = interests_for_owner(user=request.user)
    shown = every if purpose is None else interests_for_owner(user=request.user, purpose=purpose)
    rows = [
        {
            "interest": interest,
            "percent": round(max(0.0, min(1.0, interest.weight)) * 100),
            "provider_name": PROVIDERS[interest.provider].name
            if interest.provider in PROVIDERS else interest.provider,
            "purpose_names": _purpose_names(interest.purposes),
        }
        for interest in shown
    ]
    return render(request, "integrations/interests.html", {
        "charts": interest_charts(user=request.user),
        "rows": rows,
        "has_any": bool(every),
        "purposes": list(PURPOSES.values()),
        "purpose": PURPOSES[purpose] if purpose else None,
        "error": error,
    }, status=status)
