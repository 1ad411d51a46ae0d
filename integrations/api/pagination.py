"""Cursor pagination for every list: stable under inserts, and no COUNT(*) per page."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import DataError
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


class NewestFirstCursorPagination(CursorPagination):
    ordering = "-pk"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        """DRF decodes the cursor but takes the position in it as it comes: a forged one (a
        word where the ordering field holds numbers or dates, a number past the column's
        range) reaches the query. Such a cursor is as invalid as an undecodable one: 404."""
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, OverflowError, ValidationError, DataError):
            raise NotFound(self.invalid_cursor_message) from None
