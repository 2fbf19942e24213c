"""The allow-list: a false positive cleared for one subject and one listed entry, with a reason and
an expiry, through maker-checker (an officer requests it from the hit, a supervisor approves).

While it holds, screening that subject records the hit but raises no alert; once it expires, the
next screen alerts again. It names the entry by its list's own reference, so it covers the same
entry in later versions of the list.
"""

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.compliance import services
from apps.compliance.data import SensitiveAction, Target
from apps.compliance.models import SanctionsAllowListEntry, ScreeningHit
from apps.core import clock
from apps.core.actors import Actor

SANCTIONS_ALLOW_LIST = "compliance.sanctions_allow_list"
MAX_ALLOW_DAYS = 366


def _hit(arguments: Mapping[str, Any]) -> ScreeningHit:
    hit = (ScreeningHit.objects.select_related("entry", "version__sanctions_list")
           .filter(pk=arguments.get("hit_id")).first()) if arguments.get("hit_id") else None
    if hit is None:
        raise services.InvalidRequest(f"There is no screening hit {arguments.get('hit_id')}.")
    return hit


def _expires_at(arguments: Mapping[str, Any]) -> datetime:
    try:
        day = date.fromisoformat(str(arguments.get("expires_on")))
    except ValueError as error:
        raise services.InvalidRequest("Give the day the clearance expires, as YYYY-MM-DD.") from error
    expires_at = datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())
    now = clock.now()
    if not now < expires_at <= now + timedelta(days=MAX_ALLOW_DAYS):
        raise services.InvalidRequest(f"A clearance expires in the future, within {MAX_ALLOW_DAYS} days.")
    return expires_at


def allow_list_describe(arguments: Mapping[str, Any]) -> Target:
    """What a request clears, as the checker reads it. Raises InvalidRequest."""
    hit = _hit(arguments)
    _expires_at(arguments)
    return Target("compliance.screening_hit", str(hit.pk),
                  f"{hit.subject_label} against {hit.entry.name} ({hit.version.sanctions_list.name} "
                  f"{hit.entry.reference}), until {arguments['expires_on']}",
                  str(hit.merchant_id) if hit.merchant_id else None)


def sanctions_allow_list_add(*, hit_id: str, expires_on: str, actor: Actor, reason: str) -> SanctionsAllowListEntry:
    """Clear the hit's subject of the hit's entry until ``expires_on`` (the approval of a
    maker-checker request calls it). Raises InvalidRequest."""
    arguments = {"hit_id": hit_id, "expires_on": expires_on}
    hit, expires_at = _hit(arguments), _expires_at(arguments)
    with transaction.atomic():
        allowed = SanctionsAllowListEntry.objects.create(
            subject_type=hit.subject_type, subject_id=hit.subject_id, subject_label=hit.subject_label,
            sanctions_list=hit.version.sanctions_list, entry_reference=hit.entry.reference,
            entry_name=hit.entry.name, reason=reason, created_at=clock.now(), expires_at=expires_at,
            approved_by=actor.label[:200],
        )
        audit_record(
            actor=actor, action="sanctions_allow_list.added", object_type="compliance.sanctions_allow_list_entry",
            object_id=str(allowed.pk), reason=reason, merchant_id=str(hit.merchant_id or ""),
            after={"subject": {"type": hit.subject_type, "id": hit.subject_id, "label": hit.subject_label},
                   "list": hit.version.sanctions_list.source, "entry_reference": hit.entry.reference,
                   "entry_name": hit.entry.name, "expires_at": expires_at, "hit": str(hit.pk)},
        )
    return allowed


def _allow_list_add(*, hit_id: str, expires_on: str, actor: Actor, reason: str) -> str:
    allowed = sanctions_allow_list_add(hit_id=hit_id, expires_on=expires_on, actor=actor, reason=reason)
    return f"{allowed.subject_label} cleared of {allowed.entry_name} until {allowed.expires_at:%Y-%m-%d}."


def register() -> None:
    services.sensitive_action_register(SensitiveAction(
        name=SANCTIONS_ALLOW_LIST, label="Clear a sanctions hit (allow-list)", service=_allow_list_add,
        describe=allow_list_describe, permission="compliance.request_sanctions_allow_list", always_checked=True,
    ))
