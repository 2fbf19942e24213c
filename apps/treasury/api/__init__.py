"""Treasury's merchant API: FX quotes and conversions."""
