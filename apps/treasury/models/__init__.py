"""Treasury's tables, one module per part: nostro accounts, positions and low-liquidity alerts (and
the parts the treasury issue adds beside them). Import from here: ``apps.treasury.models``."""

from apps.treasury.models.nostros import NostroAccount
from apps.treasury.models.positions import LiquidityAlert, Position

__all__ = ["LiquidityAlert", "NostroAccount", "Position"]
