"""Reconciliation's tasks, one module per part (Celery's autodiscovery imports this package)."""

from apps.reconciliation.tasks import matching  # noqa: F401
