"""Treasury's admin, one module per part; importing them registers each with the admin site."""

from apps.treasury.admin import fx, nostros, positions, sweeps  # noqa: F401
