"""My library pages, and the list-sync switches of a connection. Each view reads through
selectors or calls one service; every lookup is scoped to the person (another's entry is 404).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations.exceptions import IntegrationError
from integrations.models import ExternalItem
from integrations.selectors import connection_get_for_user

from . import selectors, services
from .forms import EntryForm, FilterForm, LinkSearchForm
from .links import library_entries_link, library_item_unlink
from .models import LibraryEntry
from .selectors import (
    library_counts,
    library_entries_for,
    library_entry_get,
    library_entry_history,
    library_entry_services,
    library_link_candidates,
)
from .terms import TERMS

# Messages people see; tests import them.
SAVED_SENDING = "Saved; sending to {names}."
SAVED_NOWHERE = "Saved. None of your list services is to get it (see each one's state below)."
UNCHANGED = "Nothing changed."
LINKED = "Linked: “{other}” is now part of this entry."
ALREADY_LINKED = "That entry is not there any more: it may have been linked already."
UNLINKED = "Unlinked: {name}'s entry has its own library entry now."
SWITCHES_SAVED = "List sync settings saved."
LIBRARY_SYNC_QUEUED = "Sync queued; {count} waiting change{s} on {name}'s way."
LIBRARY_SYNC_NOT_QUEUED = (
    "No new sync queued: {name} is syncing already, needs reconnecting, or has syncing off. "
    "{count} waiting change{s} on its way."
)

PER_PAGE = 50
LINK_CANDIDATES = 20
CROSS_IDS = [  # (field, service, address of the title there)
    ("mal_id", "MyAnimeList", "https://myanimelist.net/{kind}/{id}"),
    ("anilist_id", "AniList", "https://anilist.co/{kind}/{id}"),
    ("kitsu_id", "Kitsu", "https://kitsu.app/{kind}/{id}"),
]


def _entry_or_404(request: HttpRequest, pk: int | str) -> LibraryEntry:
    """One of the person's entries; anything else (another's, gone, not an id) is a 404."""
    if isinstance(pk, str) and not (pk.isascii() and pk.isdigit() and len(pk) <= 18):
        raise Http404("No such entry.")
    try:
        return library_entry_get(user=request.user, pk=int(pk))
    except LibraryEntry.DoesNotExist:
        raise Http404("No such entry.") from None


@login_required
@require_GET
def library(request: HttpRequest) -> HttpResponse:
    form = FilterForm(request.GET, user=request.user)
    filters = form.filters()
    page = Paginator(library_entries_for(user=request.user, **filters), PER_PAGE).get_page(
        request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "library/library.html", {
        "form": form,
        "filtered": any(filters.values()),
        "page": page,
        "entries": list(page),
        "query": query.urlencode(),
        "counts": library_counts(user=request.user),
        "has_services": form.fields["service"].choices[1:] != [],
    })


def _cross_ids(entry: LibraryEntry) -> list[dict]:
    title = entry.title
    return [{"service": service, "id": getattr(title, field),
             "url": url.format(kind=title.kind, id=getattr(title, field))}
            for field, service, url in CROSS_IDS if getattr(title, field)]


def _entry_page(request: HttpRequest, entry: LibraryEntry, form: EntryForm,
                status: int = 200) -> HttpResponse:
    states = library_entry_services(entry=entry)
    live = [s for s in states if s.item is not None and s.item.deleted_at is None]
    find = LinkSearchForm(request.GET)
    search = find.cleaned_data["find"].strip() if find.is_valid() else ""
    return render(request, "library/entry.html", {
        "entry": entry,
        "title": entry.title,
        "names": {k: v for k, v in entry.title.titles.items() if isinstance(v, str)}
        if isinstance(entry.title.titles, dict) else {},
        "cross_ids": _cross_ids(entry),
        "form": form,
        "states": states,
        "can_unlink": len(live) > 1,
        "conflicts": list(entry.conflicts.all()[:50]),
        "history": library_entry_history(entry=entry, limit=100),
        "find_form": find,
        "search": search,
        "candidates": list(library_link_candidates(entry=entry, search=search,
                                                   limit=LINK_CANDIDATES)) if search else [],
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def entry_detail(request: HttpRequest, pk: int) -> HttpResponse:
    entry = _entry_or_404(request, pk)
    form = EntryForm.for_entry(entry, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        before = entry.updated_at
        try:
            entry = services.library_entry_update(
                entry=entry, values=form.cleaned_data, actor=f"user:{request.user.pk}")
        except services.LibraryInputError as exc:
            for field, message in exc.errors.items():
                form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _saved_message(entry) if entry.updated_at != before
                             else UNCHANGED)
            return redirect("library:entry", pk=entry.pk)
    return _entry_page(request, entry, form, status=400 if form.errors else 200)


def _saved_message(entry: LibraryEntry) -> str:
    names = [state.connection.provider_name for state in library_entry_services(entry=entry)
             if state.state in (selectors.WAITING, selectors.NOT_YET)]
    return SAVED_SENDING.format(names=", ".join(names)) if names else SAVED_NOWHERE


@login_required
@require_POST
def entry_link(request: HttpRequest, pk: int) -> HttpResponse:
    keep = _entry_or_404(request, pk)
    other = _entry_or_404(request, request.POST.get("other", ""))
    try:
        library_entries_link(user=request.user, keep=keep, other=other,
                             actor=f"user:{request.user.pk}")
    except IntegrationError as exc:
        messages.error(request, exc.message)
    except LibraryEntry.DoesNotExist:  # a second submission: the first linked it already
        messages.error(request, ALREADY_LINKED)
    else:
        messages.success(request, LINKED.format(other=other.title))
    return redirect("library:entry", pk=keep.pk)


@login_required
@require_POST
def entry_unlink(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    entry = _entry_or_404(request, pk)
    item = get_object_or_404(ExternalItem.objects.select_related("connection"),
                             pk=item_pk, library_entry=entry)
    try:
        new = library_item_unlink(item=item, actor=f"user:{request.user.pk}")
    except IntegrationError as exc:
        messages.error(request, exc.message)
        return redirect("library:entry", pk=entry.pk)
    messages.success(request, UNLINKED.format(name=item.connection.provider_name))
    return redirect("library:entry", pk=new.pk)


def _list_connection(request: HttpRequest, pk: int):
    connection = connection_get_for_user(user=request.user, pk=pk)
    if connection.provider not in TERMS:
        raise Http404("Not a list service.")
    return connection


def _back(connection) -> HttpResponse:
    return redirect(reverse("integrations:connection_detail", args=[connection.pk])
                    + "#list-sync")


@login_required
@require_POST
def connection_switches(request: HttpRequest, pk: int) -> HttpResponse:
    """The connection page's List sync box: an unticked box is off."""
    connection = _list_connection(request, pk)
    services.library_settings_update(
        connection=connection,
        switches={name: request.POST.get(name) == "on" for name in services.SWITCHES},
        actor=f"user:{request.user.pk}")
    messages.success(request, SWITCHES_SAVED)
    return _back(connection)


@login_required
@require_POST
def connection_sync_now(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _list_connection(request, pk)
    try:
        run, queued = services.library_sync_now(connection=connection)
    except IntegrationError as exc:
        messages.error(request, exc.message)
        return _back(connection)
    say = messages.success if run is not None else messages.info
    text = LIBRARY_SYNC_QUEUED if run is not None else LIBRARY_SYNC_NOT_QUEUED
    say(request, text.format(count=queued, s="" if queued == 1 else "s",
                             name=connection.provider_name))
    return _back(connection)
