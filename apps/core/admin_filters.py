"""List filters that take typed input instead of listing choices: they never read the table to
offer values, so they cost nothing on a list of millions of rows.

:class:`TypedInputFilter` renders a small form in the filter sidebar (keeping the list's other
filters and search); :class:`DateRangeFilter` is a from/to date range on one date-time field, in
the business's time zone, both days included.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import PAGE_VAR
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone


@dataclass(frozen=True)
class FilterInput:
    name: str
    label: str
    value: str
    type: str = "search"
    placeholder: str = ""


class TypedInputFilter(admin.ListFilter):
    """A filter whose value staff type. Subclasses name their ``parameters`` and say what they do
    with the values in ``filter_by``."""

    template = "admin/fincore/typed_input_filter.html"
    parameters: tuple[str, ...] = ()

    def __init__(self, request: HttpRequest, params: dict[str, list[str]], model: type[Model],
                 model_admin: admin.ModelAdmin) -> None:
        super().__init__(request, params, model, model_admin)
        self.values: dict[str, str] = {}
        for name in self.parameters:
            if name in params:
                value = params.pop(name)[-1].strip()
                self.used_parameters[name] = value
                if value:
                    self.values[name] = value
        # The list's other parameters ride along in the form, so typing here keeps them.
        self.kept = [(key, value) for key, values in request.GET.lists() if key not in self.parameters
                     and key != PAGE_VAR for value in values]

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return list(self.parameters)

    def inputs(self) -> list[FilterInput]:
        raise NotImplementedError

    def choices(self, changelist: Any):
        yield {"selected": not self.values, "query_string": changelist.get_query_string(remove=self.parameters),
               "display": "All"}

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.values:
            return queryset
        return self.filter_by(queryset, self.values)

    def filter_by(self, queryset: QuerySet, values: dict[str, str]) -> QuerySet:
        raise NotImplementedError


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as invalid:
        raise IncorrectLookupParameters(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from invalid


class DateRangeFilter(TypedInputFilter):
    """From/to dates on ``field_name`` (both included, days in the business's time zone).

    Use ``DateRangeFilter.on("created_at", "date created")`` in ``list_filter``.
    """

    field_name = ""

    @classmethod
    def on(cls, field_name: str, title: str) -> type["DateRangeFilter"]:
        return type(f"{field_name.title().replace('_', '')}RangeFilter", (cls,), {
            "field_name": field_name, "title": title,
            "parameters": (f"{field_name}_from", f"{field_name}_to"),
        })

    def inputs(self) -> list[FilterInput]:
        start, end = self.parameters
        return [FilterInput(start, "From", self.values.get(start, ""), type="date"),
                FilterInput(end, "To (included)", self.values.get(end, ""), type="date")]

    def filter_by(self, queryset: QuerySet, values: dict[str, str]) -> QuerySet:
        start, end = self.parameters
        zone = timezone.get_current_timezone()
        if start in values:
            first = _day(values[start], start)
            queryset = queryset.filter(**{f"{self.field_name}__gte": datetime.combine(first, time.min, zone)})
        if end in values:
            after = _day(values[end], end) + timedelta(days=1)
            queryset = queryset.filter(**{f"{self.field_name}__lt": datetime.combine(after, time.min, zone)})
        return queryset
