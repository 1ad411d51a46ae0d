from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from integrations.providers.retired import provider_or_retired
from integrations.selectors import connection_get_for_user

from .selectors import (
    interest_sources_for_owner,
    stream_items_for_owner,
    stream_of,
    your_data_for_owner,
)

# Where the export lives (privacy:export, built separately); a path so this page does not
# depend on that URL name existing yet.
EXPORT_PATH = "/your-data/export/"


@login_required
@require_GET
def your_data(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/your_data.html", {
        "data": your_data_for_owner(user=request.user),
        "export_path": EXPORT_PATH,
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
