"""The sandbox networks' memory, in the ``SandboxOperation`` table.

Each write is its own statement in autocommit (adapters are never called inside a transaction),
so an operation is durable before the simulator's answer travels back: exactly the window a
killed worker falls into.
"""

from datetime import datetime
from uuid import UUID

from django.db import IntegrityError, transaction

from apps.core import clock
from apps.routing.adapters.sandbox import NetworkOperation
from apps.routing.models import SandboxOperation

_FIELDS = (
    "connector", "idempotency_key", "kind", "reference", "outcome", "created_at", "parent_reference", "payment_id",
    "amount", "currency", "error_code", "auto_capture", "confirm_at",
)


def _operation(row: SandboxOperation) -> NetworkOperation:
    return NetworkOperation(**{field: getattr(row, field) for field in _FIELDS})


class DatabaseNetwork:
    def now(self) -> datetime:
        return clock.now()

    def find(self, connector: str, idempotency_key: str) -> NetworkOperation | None:
        row = SandboxOperation.objects.filter(connector=connector, idempotency_key=idempotency_key).first()
        return _operation(row) if row else None

    def find_by_reference(self, reference: str) -> NetworkOperation | None:
        row = SandboxOperation.objects.filter(reference=reference).first()
        return _operation(row) if row else None

    def children(self, parent_reference: str) -> list[NetworkOperation]:
        rows = SandboxOperation.objects.filter(parent_reference=parent_reference).order_by("created_at", "id")
        return [_operation(row) for row in rows]

    def first_connector_for(self, payment_id: UUID) -> str | None:
        return (
            SandboxOperation.objects.filter(payment_id=payment_id).order_by("created_at", "id")
            .values_list("connector", flat=True).first()
        )

    def record(self, operation: NetworkOperation) -> NetworkOperation:
        """Store ``operation``; or, if a concurrent call with the same key stored one first, that one.
        Callers have just found none, so the INSERT is tried without reading first."""
        try:
            with transaction.atomic():
                SandboxOperation.objects.create(**{field: getattr(operation, field) for field in _FIELDS})
        except IntegrityError:
            stored = self.find(operation.connector, operation.idempotency_key)
            if stored is None:
                raise
            return stored
        return operation
