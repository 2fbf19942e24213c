"""Treasury's tables, one module per part: nostro accounts, FX (and the parts the treasury issue adds
beside them). Import from here: ``apps.treasury.models``."""

from apps.treasury.models.fx import FxConversion, FxQuote, FxRate, FxRoundingCarry
from apps.treasury.models.nostros import NostroAccount

__all__ = ["FxConversion", "FxQuote", "FxRate", "FxRoundingCarry", "NostroAccount"]
