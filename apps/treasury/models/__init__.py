"""Treasury's tables, one module per part: nostro accounts, sweeps between them (and the parts the
treasury issue adds beside them). Import from here: ``apps.treasury.models``."""

from apps.treasury.models.nostros import NostroAccount
from apps.treasury.models.sweeps import Sweep

__all__ = ["NostroAccount", "Sweep"]
