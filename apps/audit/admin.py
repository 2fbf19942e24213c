"""The Audit section of the admin: the journal, and django-auditlog's admin change log beside it.

Staff find an object's history by the id they see (``pay_…``, ``mer_…``), by who acted, by what
was done and when. Other admin pages link to ``/admin/audit/auditevent/?object_type=…&object_id=…``
("history in the journal"); both are plain field filters of the changelist.
"""

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from auditlog.admin import LogEntryAdmin
from auditlog.filters import CIDFilter
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from apps.audit import selectors
from apps.audit.admin_export import CsvExportMixin
from apps.audit.models import AdminChange, AuditEvent
from apps.core import ids
from apps.core.admin_readonly import CappedCountPaginator, ReadOnlyModelAdmin

# The object types journaled under each public id prefix. Most services journal the internal id
# (a UUID); the webhook services journal the public id itself, so both are searched.
PUBLIC_ID_OBJECT_TYPES: dict[str, tuple[str, ...]] = {
    "pay": ("payments.payment",),
    "att": ("payments.paymentattempt",),
    "re": ("payments.refund",),
    "po": ("payments.payout",),
    "ba": ("merchants.bankaccount",),
    "mer": ("merchants.merchant",),
    "key": ("merchants.apikey",),
    "acc": ("ledger.account",),
    "tr": ("ledger.transfer",),
    "evt": ("events.webhookevent",),
    "we": ("events.webhookendpoint",),
}
_PREFIX_OF_TYPE = {object_type: prefix for prefix, types in PUBLIC_ID_OBJECT_TYPES.items() for object_type in types}


def public_id_lookup(term: str) -> Q | None:
    """The journal rows about the object a public id names (for ``mer_…`` also every row of that
    merchant), or None when ``term`` is no public id."""
    prefix = term.partition("_")[0]
    object_types = PUBLIC_ID_OBJECT_TYPES.get(prefix)
    internal_id = ids.decode(prefix, term) if object_types else None
    if internal_id is None:
        return None
    lookup = Q(object_type__in=object_types, object_id__in=[str(internal_id), ids.encode(prefix, internal_id)])
    if prefix == "mer":
        lookup |= Q(merchant_id=str(internal_id))
    return lookup


def public_id_of(object_type: str, object_id: str) -> str | None:
    """The id staff see for a journaled object, when it has one."""
    prefix = _PREFIX_OF_TYPE.get(object_type)
    if prefix is None:
        return None
    if object_id.startswith(f"{prefix}_"):
        return object_id
    try:
        return ids.encode(prefix, uuid.UUID(object_id))
    except ValueError:
        return None


class ActionFilter(admin.SimpleListFilter):
    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(action, action) for action in selectors.journal_actions()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        return queryset.filter(action=self.value()) if self.value() else queryset


class StaffActorFilter(admin.SimpleListFilter):
    """Who acted, for people: the staff users (system jobs and API keys: the actor type filter)."""

    title = "staff member"
    parameter_name = "staff"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        staff = get_user_model().objects.filter(is_staff=True).order_by("username")
        return [(str(pk), username) for pk, username in staff.values_list("pk", "username")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        if not self.value():
            return queryset
        return queryset.filter(actor_type=AuditEvent.ActorType.STAFF, actor_id=self.value())


class OccurredBetweenFilter(admin.FieldListFilter):
    """Two dates (days in fincore's time zone, both included): ``?occurred_at_from=…&occurred_at_to=…``."""

    template = "admin/audit/date_range_filter.html"

    def __init__(self, field: Any, request: HttpRequest, params: dict[str, Any], model: Any,
                 model_admin: admin.ModelAdmin, field_path: str) -> None:
        self.parameter_from = f"{field_path}_from"
        self.parameter_to = f"{field_path}_to"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = "occurred between"

    def expected_parameters(self) -> list[str]:
        return [self.parameter_from, self.parameter_to]

    def has_output(self) -> bool:
        return True

    def _day(self, parameter: str) -> date | None:
        value = self.used_parameters.get(parameter)
        if isinstance(value, list):
            value = value[-1] if value else None
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError as error:
            raise IncorrectLookupParameters(error) from error

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        zone = ZoneInfo(settings.TIME_ZONE)
        if first_day := self._day(self.parameter_from):
            queryset = queryset.filter(**{f"{self.field_path}__gte": datetime.combine(first_day, time.min, zone)})
        if last_day := self._day(self.parameter_to):
            end = datetime.combine(last_day + timedelta(days=1), time.min, zone)
            queryset = queryset.filter(**{f"{self.field_path}__lt": end})
        return queryset

    def choices(self, changelist: Any) -> list[dict[str, Any]]:
        ours = {self.parameter_from, self.parameter_to, "p"}
        return [{
            "parameter_from": self.parameter_from,
            "parameter_to": self.parameter_to,
            "value_from": changelist.params.get(self.parameter_from, ""),
            "value_to": changelist.params.get(self.parameter_to, ""),
            "kept": [(name, value) for name, value in changelist.params.items() if name not in ours],
            "clear_url": changelist.get_query_string(remove=[self.parameter_from, self.parameter_to]),
        }]


@admin.register(AuditEvent)
class AuditEventAdmin(CsvExportMixin, ReadOnlyModelAdmin):
    # Fits 1366 px: the actor's type is a filter and on the entry's page.
    list_display = ("occurred_at", "action", "object", "merchant", "who", "sealed")
    list_filter = (
        ("occurred_at", OccurredBetweenFilter),
        ("occurred_at", admin.DateFieldListFilter),
        ActionFilter,
        "actor_type",
        StaffActorFilter,
    )
    search_fields = ("=object_id", "=request_id", "=merchant_id", "actor_label", "action", "reason")
    search_help_text = (
        "An id as staff see it (pay_…, mer_… finds everything about that merchant, acc_…, tr_…, evt_…, att_…, re_…), "
        "an internal id, a request id, a person's name, an action or words of a reason."
    )
    list_select_related = ("seal",)
    # The journal only grows: no full COUNT(*) or date drill-down (date_hierarchy reads every
    # row's date) over all of it per page view; the date filters narrow it instead.
    paginator = CappedCountPaginator
    show_full_result_count = False
    readonly_fields = [field.name for field in AuditEvent._meta.fields] + ["seal_position"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return super().get_queryset(request).select_related("seal")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[AuditEvent],
                           search_term: str) -> tuple[QuerySet[AuditEvent], bool]:
        lookup = public_id_lookup(search_term.strip())
        if lookup is not None:
            return queryset.filter(lookup), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="Object", ordering="object_id")
    def object(self, event: AuditEvent) -> str:
        return public_id_of(event.object_type, event.object_id) or f"{event.object_type} {event.object_id}"

    @admin.display(description="Merchant")
    def merchant(self, event: AuditEvent) -> str:
        if not event.merchant_id:
            return "-"
        return public_id_of("merchants.merchant", event.merchant_id) or event.merchant_id

    @admin.display(description="Who", ordering="actor_label")
    def who(self, event: AuditEvent) -> str:
        return event.actor_label

    @admin.display(boolean=True, description="Sealed")
    def sealed(self, event: AuditEvent) -> bool:
        return hasattr(event, "seal")

    @admin.display(description="Place in the hash chain")
    def seal_position(self, event: AuditEvent) -> str:
        if not hasattr(event, "seal"):
            return "awaiting its seal"
        return f"seal {event.seal.seq}, hash {event.seal.hash}, sealed {event.seal.sealed_at:%Y-%m-%d %H:%M:%S}"


# django-auditlog's entries, in the Audit section beside the journal rather than under an app of
# their own.
admin.site.unregister(LogEntry)


@admin.register(AdminChange)
class AdminChangeLogAdmin(CsvExportMixin, LogEntryAdmin):
    # The log only grows too: auditlog's own admin counts it all and drills into its dates.
    date_hierarchy = None
    # Not auditlog's resource type filter, which reads the distinct types of every entry; its
    # correlation id filter stays, for the request id links of the list.
    list_filter = [("timestamp", admin.DateFieldListFilter), "action", CIDFilter]
    paginator = CappedCountPaginator
    show_full_result_count = False
