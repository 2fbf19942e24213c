"""Reconciliation's Celery tasks, one module per part (Celery finds them through this package)."""

from apps.reconciliation.tasks import proof  # noqa: F401
