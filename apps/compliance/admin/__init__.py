"""Compliance's admin, one module per part (Django imports this package; each module registers its pages)."""

from apps.compliance.admin import approvals, sanctions  # noqa: F401
