"""A sandbox network in memory, for tests of the simulators without a database."""

from datetime import UTC, datetime
from uuid import UUID

from apps.routing.adapters.sandbox import NetworkOperation


class InMemoryNetwork:
    def __init__(self, now: datetime | None = None) -> None:
        self.operations: list[NetworkOperation] = []
        self.current = now or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def find(self, connector: str, idempotency_key: str) -> NetworkOperation | None:
        wanted = (connector, idempotency_key)
        return next((op for op in self.operations if (op.connector, op.idempotency_key) == wanted), None)

    def find_by_reference(self, reference: str) -> NetworkOperation | None:
        return next((op for op in self.operations if op.reference == reference), None)

    def children(self, parent_reference: str) -> list[NetworkOperation]:
        return [op for op in self.operations if op.parent_reference == parent_reference]

    def first_connector_for(self, payment_id: UUID) -> str | None:
        return next((op.connector for op in self.operations if op.payment_id == payment_id), None)

    def record(self, operation: NetworkOperation) -> NetworkOperation:
        existing = self.find(operation.connector, operation.idempotency_key)
        if existing is not None:
            return existing
        self.operations.append(operation)
        return operation
