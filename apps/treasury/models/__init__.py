"""Treasury's tables, one module per part: nostro accounts, FX, sweeps between nostros (and the
parts the treasury issue adds beside them). Import from here: ``apps.treasury.models``."""

from apps.treasury.models.fx import FxConversion, FxQuote, FxRate, FxRoundingCarry
from apps.treasury.models.nostros import NostroAccount
from apps.treasury.models.positions import LiquidityAlert, Position
from apps.treasury.models.sweeps import Sweep

__all__ = ["FxConversion", "FxQuote", "FxRate", "FxRoundingCarry", "LiquidityAlert", "NostroAccount", "Position",
           "Sweep"]
