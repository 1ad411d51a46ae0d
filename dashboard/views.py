"""The Dashboard page. Each view reads through selectors or calls one service.

Widget bodies load with htmx, each polling no more often than its provider's cache TTL; without
JavaScript, each widget links to its body.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from . import loading, services
from .forms import WidgetForm
from .selectors import (
    dashboard_connection_get_for_user,
    dashboard_connections,
    dashboard_tiles,
    poll_seconds,
    proxy_spec_for,
    widget_get_for_user,
)

# Messages people see; tests import them.
ADDED = "Added “{title}”."
SAVED = "Saved “{title}”."
REMOVED = "Removed “{title}”."


def _add_errors(form: WidgetForm, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@login_required
@require_http_methods(["GET", "POST"])
def dashboard(request: HttpRequest) -> HttpResponse:
    connections = dashboard_connections(user=request.user)
    form = WidgetForm(request.POST or None, connections=connections)
    if request.method == "POST" and form.is_valid():
        connection = dashboard_connection_get_for_user(user=request.user,
                                                       pk=form.connection_pk())
        try:
            widget = services.widget_create(
                user=request.user, connection=connection, title=form.cleaned_data["title"],
                path=form.widget_path(), params=form.cleaned_data["params"],
                view=form.cleaned_data["view"], value_path=form.cleaned_data["value_path"],
                time_field=form.cleaned_data["time_field"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, ADDED.format(title=widget.title))
            return redirect("dashboard:dashboard")
    return render(request, "dashboard/dashboard.html", {
        "tiles": dashboard_tiles(user=request.user), "form": form,
        "connections": connections,
        "offers": [(c, proxy_spec_for(c)) for c in connections],
    }, status=400 if form.errors else 200)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def widget_body(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the data as the cache has it. POST (the Refresh button): fresh from the provider,
    within the person's rate limit."""
    widget = widget_get_for_user(user=request.user, pk=pk)
    body = loading.widget_body(widget=widget, refresh=request.method == "POST")
    return render(request, "dashboard/_widget_body.html", {
        "body": body, "freshness": loading.freshness(body),
        "poll_seconds": poll_seconds(widget.connection),
    })


@login_required
@require_http_methods(["GET", "POST"])
def widget_edit(request: HttpRequest, pk: int) -> HttpResponse:
    widget = widget_get_for_user(user=request.user, pk=pk)
    form = WidgetForm(request.POST or None, initial=WidgetForm.initial_for(widget),
                      connections=[widget.connection])
    if request.method == "POST" and form.is_valid():
        if form.connection_pk() != widget.connection_id:  # a widget keeps its connection
            raise Http404
        try:
            services.widget_update(
                widget=widget, title=form.cleaned_data["title"], path=form.widget_path(),
                params=form.cleaned_data["params"], view=form.cleaned_data["view"],
                value_path=form.cleaned_data["value_path"],
                time_field=form.cleaned_data["time_field"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, SAVED.format(title=widget.title))
            return redirect("dashboard:dashboard")
    return render(request, "dashboard/widget_edit.html", {"widget": widget, "form": form},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def widget_move(request: HttpRequest, pk: int) -> HttpResponse:
    widget = widget_get_for_user(user=request.user, pk=pk)
    services.widget_move(widget=widget, offset=-1 if request.POST.get("direction") == "up"
                         else 1)
    return redirect("dashboard:dashboard")


@login_required
@require_POST
def widget_delete(request: HttpRequest, pk: int) -> HttpResponse:
    widget = widget_get_for_user(user=request.user, pk=pk)
    services.widget_delete(widget=widget)
    messages.success(request, REMOVED.format(title=widget.title))
    return redirect("dashboard:dashboard")
