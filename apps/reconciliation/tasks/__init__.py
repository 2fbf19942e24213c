"""Reconciliation's tasks, one module per part (Celery's autodiscovery imports this package)."""

from apps.reconciliation.tasks import drop_folder, expectations, matching, proof  # noqa: F401
