"""The BHD calendar: Bahrain's market (Friday-Saturday weekend, 17:00 Asia/Bahrain cut-off) and its
public holidays from the ``holidays`` package, Islamic ones marked estimated where the package
computes rather than knows them.

Years 2024-2036: from before fincore's first BHD payments (a business date re-derived for an old
capture finds its holidays) to ten years ahead, past any payout or run scheduled today. The
further out, the more of the Islamic dates are estimates; staff move them when they are announced
(a maker-checker change) and add later years the same way. A day past the seeded years has only
its weekend.
"""

from datetime import time

from django.db import migrations

from apps.settlement.data import BAHRAIN_TIME_ZONE, BAHRAIN_WEEKEND
from apps.settlement.seeded_holidays import public_holidays

SEEDED_YEARS = range(2024, 2037)


def seed(apps, schema_editor):
    BusinessCalendar = apps.get_model("settlement", "BusinessCalendar")
    Holiday = apps.get_model("settlement", "Holiday")
    calendar = BusinessCalendar.objects.create(currency="BHD", market_country="BH", time_zone=BAHRAIN_TIME_ZONE,
                                               weekend_days=list(BAHRAIN_WEEKEND), cutoff=time(17, 0))
    Holiday.objects.bulk_create(
        Holiday(calendar=calendar, date=holiday.date, name=holiday.name, source="seeded", estimated=holiday.estimated)
        for holiday in public_holidays("BH", SEEDED_YEARS)
    )


def unseed(apps, schema_editor):
    BusinessCalendar = apps.get_model("settlement", "BusinessCalendar")
    Holiday = apps.get_model("settlement", "Holiday")
    Holiday.objects.filter(calendar__currency="BHD").delete()
    BusinessCalendar.objects.filter(currency="BHD").delete()


class Migration(migrations.Migration):
    dependencies = [("settlement", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
