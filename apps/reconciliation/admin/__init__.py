"""Reconciliation's admin, one module per part; importing them registers each with the admin site."""

from apps.reconciliation.admin import breaks, expectations, mappings, rules, statements  # noqa: F401
