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
    return content


def event_signature(event: AuditEvent) -> str:
    return chain.signature(settings.FINCORE_AUDIT_KEY.encode(), event_content(event))
