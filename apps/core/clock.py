"""The time, in one place, so tests can freeze it (time-machine) and code never calls naive now()."""

from datetime import date, datetime, time

from django.utils import timezone


def now() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return timezone.now()


def day_end(day: date) -> datetime:
    """The last instant of ``day`` in fincore's time zone (Bahrain's: the banks' and the business
    calendar's day), e.g. when the money a bank booked that day was there."""
    return datetime.combine(day, time.max, tzinfo=timezone.get_default_timezone())


def isoformat(moment: datetime | None) -> str | None:
    """An instant as the API and webhooks show it: ISO 8601 in fincore's time zone (``Z`` if that
    is UTC), or None."""
    if moment is None:
        return None
    text = timezone.localtime(moment).isoformat()
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text
