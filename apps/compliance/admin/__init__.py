"""Compliance's admin, one module per part (Django imports this package; each module registers its pages)."""

from apps.compliance.admin import (
    approvals,  # noqa: F401
    cases,  # noqa: F401
    monitoring,  # noqa: F401
    sanctions,  # noqa: F401
)
