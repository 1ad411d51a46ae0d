"""Read queries of the proxy. Every lookup is scoped to the requesting person."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.shortcuts import get_object_or_404

from integrations.models import Connection


def connection_get_for_proxy(*, user: AbstractBaseUser, pk: int) -> Connection:
    """The person's own connection or 404, without its credential: a cache hit never needs
    the secrets, and loading them decrypts every field (the fetch loads them when it sends)."""
    return get_object_or_404(Connection, pk=pk, user=user)
