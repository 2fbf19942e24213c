"""Time and rows for tests of the outbox sweep."""

from datetime import timedelta

import time_machine

from apps.core import clock
from apps.events.outbox.services import SWEEP_GRACE


def after_sweep_grace(extra: timedelta = timedelta(0)) -> time_machine.travel:
    """Travel to when every message written so far is old enough for the sweep (plus ``extra``)."""
    return time_machine.travel(clock.now() + SWEEP_GRACE + timedelta(seconds=1) + extra, tick=True)
