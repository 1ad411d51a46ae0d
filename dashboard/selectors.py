"""Reads for the dashboard. Every lookup is scoped to the requesting person: another person's
widget or connection is a 404, never a 403."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from integrations.models import Connection
from integrations.providers.registry import PROVIDERS
from integrations.proxy.spec import ProxyEndpoint, ProxySpec

from .models import Widget

# One {placeholder} of a declared path fills exactly one path segment, and never "." or "..".
SEGMENT = r"(?!\.\.?(?:/|$))[A-Za-z0-9._~-]{1,100}"


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


def _path_pattern(template: str) -> re.Pattern:
    parts = re.split(r"\{[A-Za-z_][A-Za-z0-9_]*\}", template.strip("/"))
    return re.compile(SEGMENT.join(re.escape(part) for part in parts))


def endpoint_for(spec: ProxySpec, path: str) -> ProxyEndpoint | None:
    """The declared endpoint ``path`` is (its {placeholders} filled), if any. Leading and
    trailing slashes do not matter."""
    wanted = path.strip("/")
    for endpoint in spec.endpoints:
        if _path_pattern(endpoint.path).fullmatch(wanted):
            return endpoint
    return None


def poll_seconds(connection: Connection) -> int:
    """How often a widget of ``connection`` may reload: the cache's TTL, so a poll never asks
    the provider sooner than the cache would. The person's own TTL where the spec allows one."""
    spec = proxy_spec_for(connection)
    if spec is None:
        return 60
    return max(1, spec.ttl_seconds)


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
