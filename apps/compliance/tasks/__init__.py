"""Compliance's tasks, one module per part (Celery's autodiscovery imports this package)."""

from apps.compliance.tasks import (
    approvals,  # noqa: F401
    cases,  # noqa: F401
    monitoring,  # noqa: F401
    sanctions,  # noqa: F401
)
