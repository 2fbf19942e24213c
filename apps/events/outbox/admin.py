import json

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from apps.audit.admin_export import CsvExportMixin
from apps.core.actors import Actor
from apps.core.admin import reasoned_action
from apps.core.admin_readonly import ReadOnlyModelAdmin
from apps.events.outbox import services
from apps.events.outbox.models import DeadLetter, OutboxMessage


def _pretty(value: object) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


def _replay(request: HttpRequest, dead_letter: DeadLetter, reason: str) -> None:
    services.dead_letter_replay(dead_letter_id=dead_letter.id, actor=Actor.staff(request.user), reason=reason)


def _discard(request: HttpRequest, dead_letter: DeadLetter, reason: str) -> None:
    services.dead_letter_discard(dead_letter_id=dead_letter.id, actor=Actor.staff(request.user), reason=reason)


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolution="")
        if self.value() == "resolved":
            return queryset.exclude(resolution="")
        return queryset


@admin.register(DeadLetter)
class DeadLetterAdmin(CsvExportMixin, ReadOnlyModelAdmin):
    list_display = ("id", "dead_lettered_at", "queue", "task_name", "death_reason", "resolution", "resolved_by")
    list_filter = (OpenFilter, "queue", "task_name", "death_reason")
    search_fields = ("=message_id", "task_name")
    date_hierarchy = "dead_lettered_at"
    fields = (
        "queue", "task_name", "message_id", "priority", "death_reason", "dead_lettered_at", "collected_at",
        "failure_text", "arguments", "message_headers", "resolution", "resolved_at", "resolved_by",
        "resolution_reason",
    )
    readonly_fields = fields
    actions = [
        reasoned_action(description="Replay to its queue", perform=_replay, permissions=("replay",)),
        reasoned_action(description="Discard", perform=_discard, permissions=("replay",)),
    ]

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("events.replay_deadletter")

    @admin.display(description="Why it failed")
    def failure_text(self, dead_letter: DeadLetter) -> str:
        return format_html("<pre>{}</pre>", dead_letter.failure or "(the worker left no note)")

    @admin.display(description="Arguments")
    def arguments(self, dead_letter: DeadLetter) -> str:
        return _pretty({"args": dead_letter.args, "kwargs": dead_letter.kwargs})

    @admin.display(description="Headers")
    def message_headers(self, dead_letter: DeadLetter) -> str:
        return _pretty(dead_letter.headers)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(CsvExportMixin, ReadOnlyModelAdmin):
    list_display = ("id", "created_at", "task_name", "queue", "priority", "published_at", "publish_attempts")
    list_filter = ("queue", "task_name")
    search_fields = ("=message_id", "=request_id", "task_name")
    date_hierarchy = "created_at"
    show_full_result_count = False
