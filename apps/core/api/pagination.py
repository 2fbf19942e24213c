"""Cursor pagination: ``{"results": [...], "next": url, "previous": url}``, newest first.

Primary keys are UUIDv7, ordered by creation time, so the cursor is a position in that order:
stable while new objects arrive, read along the primary key's index.
"""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 100
