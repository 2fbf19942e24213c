"""The time, in one place, so tests can freeze it (time-machine) and code never calls naive now()."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return timezone.now()
