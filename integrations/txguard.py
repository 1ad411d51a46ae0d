"""No outbound request inside a database transaction.

A network call can take seconds (the HTTP timeout is 20 s). Inside a transaction it holds row
locks that long, and on SQLite the one database write lock: every other writer, including the
sandbox's own token endpoint in the demo, waits or fails with "database is locked". So every
outbound path calls ``check_no_transaction()`` first.

``THINKALIKE_FORBID_NETWORK_IN_TRANSACTION`` decides what a violation does: on (tests, DEBUG) it
raises ``NetworkInTransaction``; off (production) it logs an error and lets the request go, so a
missed case degrades to the old behaviour instead of failing a person's sync. Every violation is
also counted in ``violations``, which the test suite checks after each test, so one swallowed by
a catch-all still fails the suite.

The test-case wrappers (pytest-django's ``django_db`` and Django's ``TestCase`` open one atomic
block per database and mark it ``_from_testcase``) are not the code's own transactions and are
ignored. ``allow_network_in_transaction(reason)`` is the explicit opt-out, for the rare place
where a transaction is unavoidable; each use says why in a comment.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

VIOLATION = "outbound request to {target} inside a database transaction on {alias!r}"

_allowed: ContextVar[str] = ContextVar("txguard_allowed", default="")
violations: list[str] = []  # every violation in this process, newest last (read by tests)


class NetworkInTransaction(AssertionError):
    """An outbound request was about to be made with a database transaction open.

    An AssertionError, not an IntegrationError: it is a bug in this project, never a provider
    problem, so the sync engine must not turn it into "try again later".
    """


def open_transaction() -> str | None:
    """The alias of a database with a transaction of our own open, else None."""
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            if any(not getattr(block, "_from_testcase", False) for block in conn.atomic_blocks):
                return conn.alias
        # set_autocommit(False): a transaction without atomic(). The cached flag, not
        # get_autocommit(), which would open a connection just to ask.
        elif conn.connection is not None and not conn.autocommit:
            return conn.alias
    return None


def check_no_transaction(target: str) -> None:
    """Call before any outbound request; ``target`` names it (host and path, no secrets)."""
    alias = open_transaction()
    if alias is None or _allowed.get():
        return
    message = VIOLATION.format(target=target, alias=alias)
    violations.append(message)
    if settings.THINKALIKE_FORBID_NETWORK_IN_TRANSACTION:
        raise NetworkInTransaction(message)
    logger.error(message, stack_info=True)


def guard_session(session: requests.Session) -> requests.Session:
    """``session`` with every request checked first: for sessions this project does not send
    through ``http.send()`` (allauth's token exchange and profile calls)."""
    unguarded = session.send

    def send(prepared: requests.PreparedRequest, **kwargs) -> requests.Response:
        check_no_transaction(f"{prepared.method} {urlsplit(prepared.url).hostname}")
        return unguarded(prepared, **kwargs)

    session.send = send
    return session


@contextmanager
def allow_network_in_transaction(reason: str) -> Iterator[None]:
    """Let outbound requests happen inside a transaction in this block. ``reason`` is required
    so every opt-out says, where it is used, why it cannot be avoided."""
    if not reason:
        raise ValueError("say why the transaction cannot be avoided")
    token = _allowed.set(reason)
    try:
        yield
    finally:
        _allowed.reset(token)
