"""Wiring django-auditlog into the journal.

django-auditlog keeps the field-by-field history of every model changed in the admin. Changes
to fincore's own models are journaled by the services that make them, with business meaning
(``merchant.suspended``); changes to other apps' models edited in the admin (staff users,
groups, beat schedules) have no such service, so their log entries are copied here, signed
and sealed like every other journal row.
"""

from typing import Any

from auditlog.models import LogEntry
from django.db import transaction

from apps.audit.services import audit_record
from apps.core import context
from apps.core.actors import Actor

_ACTIONS = {
    LogEntry.Action.CREATE: "created",
    LogEntry.Action.UPDATE: "updated",
    LogEntry.Action.DELETE: "deleted",
}


def stamp_reason(sender: type[LogEntry], instance: LogEntry, **kwargs: Any) -> None:
    """pre_save of LogEntry: keep the staff user's reason and the request id with the entry."""
    reason = context.current_change_reason()
    if reason and instance.pk is None:
        instance.additional_data = {**(instance.additional_data or {}), "reason": reason}


def mirror_log_entry(sender: type[LogEntry], instance: LogEntry, created: bool = False, **kwargs: Any) -> None:
    """post_save of LogEntry: journal admin changes to models that have no fincore service.

    Connected to the entry's post_save rather than auditlog's post_log, which is not sent for
    many-to-many changes (a role's permissions).
    """
    if not created or kwargs.get("raw") or instance.actor_id is None or instance.action not in _ACTIONS:
        return
    model = instance.content_type.model_class()
    if model is None or model.__module__.startswith("apps."):
        return
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for field, change in (instance.changes_dict or {}).items():
        if isinstance(change, list | tuple) and len(change) == 2:
            before[field], after[field] = change
        else:  # many-to-many changes are described, not paired
            after[field] = change
    if instance.action == LogEntry.Action.CREATE:
        before = {}  # auditlog pairs each new value with the text "None"
    with transaction.atomic():
        audit_record(
            actor=Actor.staff(instance.actor),
            action=f"admin.{model._meta.label_lower}.{_ACTIONS[instance.action]}",
            object_type=model._meta.label_lower,
            object_id=str(instance.object_pk),
            before=before or None,
            after=after or None,
        )
