"""What the database itself refuses in the business calendar, whatever code writes it."""

from datetime import UTC, date, datetime

import pytest
from django.db import IntegrityError, transaction

from apps.settlement.models import BusinessCalendar, EarlyClosure, Holiday

pytestmark = pytest.mark.django_db


def _refused(create) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


@pytest.fixture
def bhd() -> BusinessCalendar:
    return BusinessCalendar.objects.get(currency="BHD")


@pytest.mark.parametrize("fields", [
    {"currency": "BHD"},  # one calendar per currency
    {"currency": "kwd"},
    {"currency": "KWD", "market_country": "kw"},
    {"currency": "KWD", "time_zone": ""},
    {"currency": "KWD", "weekend_days": [4, 7]},
    {"currency": "KWD", "weekend_days": [0, 1, 2, 3, 4, 5, 6]},
])
def test_a_calendar_the_database_refuses(fields):
    calendar = {"market_country": "KW", "time_zone": "Asia/Kuwait", **fields}

    assert _refused(lambda: BusinessCalendar.objects.create(**calendar))
    assert list(BusinessCalendar.objects.values_list("currency", flat=True)) == ["BHD"]


def test_a_calendars_defaults_are_bahrains_zone_weekend_and_cutoff():
    kwd = BusinessCalendar.objects.create(currency="KWD", market_country="KW")

    assert (kwd.time_zone, kwd.weekend_days, f"{kwd.cutoff:%H:%M}") == ("Asia/Bahrain", [4, 5], "17:00")


@pytest.mark.parametrize("fields", [
    {"date": date(2026, 12, 16)},  # National Day is there already
    {"source": "imported"},
    {"name": ""},
])
def test_a_holiday_the_database_refuses(bhd, fields):
    holiday = {"date": date(2026, 12, 24), "name": "A day off", "source": "staff", **fields}

    assert _refused(lambda: Holiday.objects.create(calendar=bhd, **holiday))
    assert Holiday.objects.filter(calendar=bhd).count() == 184


@pytest.mark.parametrize("fields", [{"by": ""}, {"reason": ""}, {"business_date": date(2026, 12, 15)}])
def test_an_early_closure_the_database_refuses(bhd, fields):
    EarlyClosure.objects.create(calendar=bhd, business_date=date(2026, 12, 15),
                                closed_at=datetime(2026, 12, 15, 9, tzinfo=UTC), by="tariq", reason="storm")
    closure = {"business_date": date(2026, 12, 14), "closed_at": datetime(2026, 12, 14, 9, tzinfo=UTC),
               "by": "tariq", "reason": "storm", **fields}

    assert _refused(lambda: EarlyClosure.objects.create(calendar=bhd, **closure))
    assert EarlyClosure.objects.count() == 1
