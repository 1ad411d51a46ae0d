"""Reads for the dashboard. Every lookup is scoped to the requesting person: another person's
widget or connection is a 404, never a 403."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from integrations.models import Connection
from integrations.providers.registry import PROVIDERS
from integrations.proxy import conf, paths
from integrations.proxy.spec import ProxyEndpoint, ProxyError, ProxySpec

from .models import Widget

# A TTL of 0 means no cache: the widget then reloads this often, within the rate limit.
MIN_POLL_SECONDS = 10


def widgets_for_user(*, user: AbstractBaseUser) -> QuerySet[Widget]:
    return Widget.objects.filter(user=user).select_related("connection")


def widget_get_for_user(*, user: AbstractBaseUser, pk: int) -> Widget:
    return get_object_or_404(Widget.objects.select_related("connection"), pk=pk, user=user)


def proxy_spec_for(connection: Connection) -> ProxySpec | None:
    """What the proxy may reach through ``connection``; None for a provider without a spec
    (or one no longer installed)."""
    provider = PROVIDERS.get(connection.provider)
    return provider.proxy if provider is not None else None


def dashboard_connections(*, user: AbstractBaseUser) -> list[Connection]:
    """The person's connections a widget can read from: those whose provider has a proxy spec."""
    return [c for c in Connection.objects.filter(user=user) if proxy_spec_for(c) is not None]


def dashboard_connection_get_for_user(*, user: AbstractBaseUser, pk: int) -> Connection:
    return get_object_or_404(Connection, pk=pk, user=user)


def endpoint_for(spec: ProxySpec, path: str) -> ProxyEndpoint | None:
    """The declared endpoint ``path`` is (its {placeholders} filled), by the proxy's own
    matching; None for a free path of an ``any_path`` provider, or a path not proxied."""
    try:
        return paths.match(spec, "GET", path)[1]
    except ProxyError:
        return None


def poll_seconds(connection: Connection) -> int:
    """How often a widget of ``connection`` reloads: the proxy's cache TTL for it (the
    person's own for a custom API), so a poll never asks the provider sooner than the cache
    would; at least MIN_POLL_SECONDS, so a TTL of 0 (no cache) does not poll non-stop."""
    spec = proxy_spec_for(connection)
    ttl = conf.ttl_seconds(spec, connection.config) if spec is not None else 0
    return max(MIN_POLL_SECONDS, ttl)


@dataclass(frozen=True)
class Tile:
    """One widget as the dashboard page shows it before its body loads."""

    widget: Widget
    poll_seconds: int
    source: str  # "Stripe: Charges"


def dashboard_tiles(*, user: AbstractBaseUser) -> list[Tile]:
    tiles = []
    for widget in widgets_for_user(user=user):
        spec = proxy_spec_for(widget.connection)
        endpoint = endpoint_for(spec, widget.path) if spec is not None else None
        label = endpoint.label if endpoint is not None else widget.path
        tiles.append(Tile(widget=widget, poll_seconds=poll_seconds(widget.connection),
                          source=f"{widget.connection.provider_name}: {label}"))
    return tiles
