"""Writes of treasury, one module per part (nostros, and the parts beside them)."""
