"""Compliance's tasks, one module per part (Celery's autodiscovery imports this package)."""

from apps.compliance.tasks import approvals, sanctions  # noqa: F401
