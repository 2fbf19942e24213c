from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.audit.models import AuditEvent
from apps.core.admin_readonly import CappedCountPaginator, ReadOnlyModelAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "occurred_at", "action", "object_type", "object_id", "actor_label", "actor_type", "sealed")
    list_filter = ("actor_type", ("occurred_at", admin.DateFieldListFilter))
    search_fields = ("=object_id", "=request_id", "=merchant_id", "actor_label", "action", "reason")
    list_select_related = ("seal",)
    # The journal only grows: no full COUNT(*) or date drill-down over all of it per page view.
    paginator = CappedCountPaginator
    show_full_result_count = False
    readonly_fields = [field.name for field in AuditEvent._meta.fields] + ["seal_position"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return super().get_queryset(request).select_related("seal")

    @admin.display(boolean=True, description="Sealed")
    def sealed(self, event: AuditEvent) -> bool:
        return hasattr(event, "seal")

    @admin.display(description="Place in the hash chain")
    def seal_position(self, event: AuditEvent) -> str:
        if not hasattr(event, "seal"):
            return "awaiting its seal"
        return f"seal {event.seal.seq}, hash {event.seal.hash}, sealed {event.seal.sealed_at:%Y-%m-%d %H:%M:%S}"
