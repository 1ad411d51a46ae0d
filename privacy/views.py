from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from integrations.providers.retired import provider_or_retired
from integrations.selectors import connection_get_for_user, connections_for_owner

from .forms import ConfirmDeleteForm
from .selectors import (
    interest_sources_for_owner,
    stream_items_for_owner,
    stream_of,
    your_data_for_owner,
)
from .services import (
    PURGE_ALL_REFUSED,
    AccountDeletionIncomplete,
    account_delete,
    user_data_purge_all,
)

# Messages people see; tests import them.
PURGED_ALL = (
    "Deleted {items} imported items, {interests} interests and {entries} library entries. "
    "Your connections stay: their next syncs import afresh unless you turn sync or consent off."
)
GOODBYE_SESSION_KEY = "privacy_goodbye"


@login_required
@require_GET
def your_data(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/your_data.html", {
        "data": your_data_for_owner(user=request.user),
    })


@login_required
@require_GET
def stream_items(request: HttpRequest, pk: int, stream: str) -> HttpResponse:
    connection = connection_get_for_user(user=request.user, pk=pk)
    provider = provider_or_retired(connection.provider)
    declared = stream_of(provider, stream)
    if declared is None:
        raise Http404("No such stream.")
    page, rows = stream_items_for_owner(user=request.user, connection=connection,
                                        provider=provider, stream=declared,
                                        page=request.GET.get("page"))
    return render(request, "privacy/stream_items.html", {
        "connection": connection, "provider": provider, "stream": declared,
        "page": page, "rows": rows,
    })


@login_required
@require_GET
def interest_items(request: HttpRequest, slug: str) -> HttpResponse:
    sources = interest_sources_for_owner(user=request.user, slug=slug)
    if sources is None:
        raise Http404("None of your interests has this name.")
    return render(request, "privacy/interest_items.html", {"sources": sources})


@login_required
@reauthentication_required
@require_http_methods(["GET", "POST"])
def delete_all(request: HttpRequest) -> HttpResponse:
    """Behind allauth's reauthentication, like the account deletion: a session left open on a
    shared computer must not be enough to delete everything."""
    form = ConfirmDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = user_data_purge_all(user=request.user, actor=f"user:{request.user.pk}")
        counts = result.counts
        messages.success(request, PURGED_ALL.format(
            items=counts["items"], interests=counts["interests"],
            entries=counts["library_entries"]))
        if result.refused:
            names = ", ".join(refused.name for refused in result.refused)
            messages.warning(request, PURGE_ALL_REFUSED.format(names=names))
        return redirect("privacy:delete_all")
    connections = connections_for_owner(user=request.user)
    return render(request, "privacy/delete_all.html", {"form": form,
                                                       "connections": connections},
                  status=400 if form.is_bound else 200)


@login_required
@reauthentication_required
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    """Behind allauth's reauthentication: a session left open on a shared computer must not be
    enough to delete an account."""
    form = ConfirmDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = account_delete(user=request.user)
        except AccountDeletionIncomplete as exc:
            messages.error(request, str(exc))
            return redirect("privacy:delete_account")
        logout(request)
        # The goodbye page is after the redirect, in the new anonymous session: names, labels
        # and notes only (no token ever reaches this result).
        request.session[GOODBYE_SESSION_KEY] = [
            {"name": r.name, "label": r.label, "revoked": r.revoked, "note": r.note}
            for r in result.revokes
        ]
        return redirect("privacy:goodbye")
    connections = connections_for_owner(user=request.user)
    return render(request, "privacy/delete_account.html", {"form": form,
                                                           "connections": connections},
                  status=400 if form.is_bound else 200)


@require_GET
def goodbye(request: HttpRequest) -> HttpResponse:
    revokes = request.session.pop(GOODBYE_SESSION_KEY, None)
    return render(request, "privacy/goodbye.html", {"revokes": revokes})
