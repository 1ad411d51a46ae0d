"""Cursor pagination over a short list built in Python (the catalog, declared actions).

Same answer shape as the querysets' cursor pagination (next, previous, results), ordered by a
unique string key. The cursor names the key a page starts after (or ends before), so it stays
valid when the list changes between pages.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


class KeyedListPagination(CursorPagination):
    """Pages of a list sorted by ``key``; the view hands ``paginate_queryset`` a list."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    key: Callable[[Any], str]  # a unique string per entry: the order and the cursor

    def paginate_queryset(self, queryset: Sequence, request, view=None) -> list:
        self.request = request
        self.base_url = request.build_absolute_uri()
        size = self.get_page_size(request)
        entries = sorted(queryset, key=self.key)
        direction, key = self._decode(request)
        if direction == "before":
            earlier = [e for e in entries if self.key(e) < key]
            page = earlier[-size:]
            self._has_previous = len(earlier) > size
            self._has_next = True
        else:
            later = [e for e in entries if key is None or self.key(e) > key]
            page = later[:size]
            self._has_previous = key is not None
            self._has_next = len(later) > size
        self._page = page
        return page

    def _decode(self, request) -> tuple[str, str | None]:
        raw = request.query_params.get(self.cursor_query_param)
        if not raw:
            return "after", None
        try:
            cursor = json.loads(base64.urlsafe_b64decode(raw.encode("ascii")))
            direction, key = cursor["d"], cursor["k"]
        except (ValueError, UnicodeError, binascii.Error, KeyError, TypeError):
            raise NotFound(self.invalid_cursor_message) from None
        if direction not in ("after", "before") or not isinstance(key, str):
            raise NotFound(self.invalid_cursor_message)
        return direction, key

    def _link(self, direction: str, key: str) -> str:
        cursor = base64.urlsafe_b64encode(json.dumps({"d": direction, "k": key}).encode())
        return replace_query_param(self.base_url, self.cursor_query_param, cursor.decode())

    def get_next_link(self) -> str | None:
        if not self._has_next or not self._page:
            return None
        return self._link("after", self.key(self._page[-1]))

    def get_previous_link(self) -> str | None:
        if not self._has_previous:
            return None
        if not self._page:
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self._link("before", self.key(self._page[0]))

    def get_paginated_response(self, data) -> Response:
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(),
                         "results": data})


class ByNamePagination(KeyedListPagination):
    key = staticmethod(lambda entry: entry.name)
