"""Signing journal rows with FINCORE_AUDIT_KEY (see :mod:`apps.audit.chain`)."""

from typing import Any

from django.conf import settings

from apps.audit import chain
from apps.audit.models import AuditEvent


def event_content(event: AuditEvent) -> dict[str, Any]:
    """The signed content of an event, exactly as it reads back from the database."""
    content = {field: getattr(event, field) for field in chain.SIGNED_FIELDS}
    content["uid"] = str(event.uid)
    content["occurred_at"] = chain.canonical_timestamp(event.occurred_at)
    content["ip"] = chain.canonical_ip(event.ip)
    return content


def event_signature(event: AuditEvent) -> str:
    return chain.signature(settings.FINCORE_AUDIT_KEY.encode(), event_content(event))


def seal_hash(prev_hash: str, seq: int, event_id: int, event_signature: str) -> str:
    return chain.link(settings.FINCORE_AUDIT_KEY.encode(), prev_hash, seq, event_id, event_signature)
