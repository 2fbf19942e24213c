"""Cursor pagination: ``{"results": [...], "next": url, "previous": url}``, newest first.

Primary keys are UUIDv7, ordered by creation time, so the cursor is a position in that order:
stable while new objects arrive, read along the primary key's index. A list ordered by another
column first (settlements: business date, newest first) gives a tuple ending with the primary key:
the cursor is a position in the first column plus an offset among its equal values.

``limit`` is 1 to 100 (default 50): anything else is a 400 ``validation_error``, not silently
another page size. A ``cursor`` not made by fincore is a 400 ``invalid_cursor``.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.request import Request

from apps.core.api.problems import InvalidCursor

MIN_PAGE_SIZE = 1


class CursorPagination(pagination.CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 100
    cursor_query_description = "Where a page starts: the `next` or `previous` link of the page before holds it."
    page_size_query_description = "How many objects a page holds: 1 to 100, 50 by default."

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any] | None:
        first = self.ordering if isinstance(self.ordering, str) else self.ordering[0]
        self._ordering_field = queryset.model._meta.get_field(first.lstrip("-"))
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request: Request) -> int:
        given = request.query_params.getlist(self.page_size_query_param)
        if not given:
            return self.page_size
        if len(given) == 1 and given[0].isascii() and given[0].isdigit() and (
            MIN_PAGE_SIZE <= int(given[0]) <= self.max_page_size
        ):
            return int(given[0])
        raise DrfValidationError({self.page_size_query_param: [
            f"Give one whole number from {MIN_PAGE_SIZE} to {self.max_page_size}."
        ]}, code="invalid")

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        if len(request.query_params.getlist(self.cursor_query_param)) > 1:
            raise InvalidCursor("Give one cursor.")
        try:
            cursor = super().decode_cursor(request)
            if cursor is not None and cursor.position is not None:
                # The position goes into a query: it must be a value of the ordering column.
                self._ordering_field.to_python(cursor.position)
        except (NotFound, DjangoValidationError):
            raise InvalidCursor() from None
        return cursor

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(
                    minimum=MIN_PAGE_SIZE, maximum=self.max_page_size, default=self.page_size
                )
        return parameters
