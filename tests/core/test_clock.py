"""The day's end in fincore's time zone: what a bank's booking date or a statement's closing date means
as an instant."""

from datetime import UTC, date, datetime

from apps.core import clock


def test_a_day_ends_at_its_last_instant_in_bahrain():
    end = clock.day_end(date(2031, 4, 10))
    assert end == datetime(2031, 4, 10, 20, 59, 59, 999999, tzinfo=UTC)  # Bahrain is UTC+3, no summer time
    assert end.date() == date(2031, 4, 10)
