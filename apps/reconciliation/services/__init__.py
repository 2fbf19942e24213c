"""Writes of reconciliation, one module per part (statements, and the parts beside them)."""
