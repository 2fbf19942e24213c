"""Admin building blocks: read-only screens (journals, ledgers, message logs nobody edits by
hand), search by public id, and pages that stay cheap on tables that only grow."""

import operator
from functools import reduce

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

from apps.core import ids

COUNT_CAP = 10_000


class ReadOnlyAdminMixin:
    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class PublicIdSearchMixin:
    """Lets staff paste an id as merchants see it (``pay_01JD...``) into the admin's search box: the
    row's own id (``public_id_prefix``), or the id of something it points at (``related_public_ids``:
    ``(("pay", "payment_id"), ("evt", "event_id"))`` finds a payment's refunds by ``pay_...``).
    A well-formed id is an exact lookup on an index, never a text search."""

    public_id_prefix: str = ""
    # (prefix, lookup or lookups): a transfer is found by an ``acc_...`` on either of its sides.
    related_public_ids: tuple[tuple[str, str | tuple[str, ...]], ...] = ()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        for prefix, lookups in ((self.public_id_prefix, "pk"), *self.related_public_ids):
            object_id = ids.decode(prefix, term) if prefix else None
            if object_id is not None:
                lookups = (lookups,) if isinstance(lookups, str) else lookups
                return queryset.filter(reduce(operator.or_, (Q(**{lookup: object_id}) for lookup in lookups))), False
        return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]

    @admin.display(description="Id")
    def public_id(self, obj: Model) -> str:
        return ids.encode(self.public_id_prefix, obj.pk) if obj.pk else "-"


class CappedCountPaginator(Paginator):
    """A paginator that counts at most ``count_cap`` rows: ``SELECT COUNT(*) FROM (... LIMIT
    cap + 1)``, which stops reading there, instead of a COUNT(*) over the whole table on every page
    view. Past the cap it reports ``count_cap`` rows, so the last pages are out of reach: staff
    narrow a list that long with search or filters. Use with ``show_full_result_count = False``,
    or the admin counts the whole table once more."""

    count_cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if isinstance(rows, QuerySet):
            # Unordered: any cap + 1 rows tell "at least that many", without sorting them first.
            return min(rows.order_by()[: self.count_cap + 1].count(), self.count_cap)
        return min(len(rows), self.count_cap)
