"""Treasury's plain-Python arithmetic (no Django): FX conversion amounts and their rounding."""
