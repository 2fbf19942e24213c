"""Staff roles and the business calendar: everyone sees calendars and holidays; treasury operators,
who own the calendar, request holiday changes (a compliance supervisor approves them). The roles
themselves are made in ops 0001."""

from django.db import migrations

from apps.core.roles import role_permissions_grant

VIEWS = ["settlement.view_businesscalendar", "settlement.view_holiday"]
GRANTS = {
    "Compliance officer": VIEWS,
    "Compliance supervisor": VIEWS,
    "Treasury operator": [*VIEWS, "settlement.request_holiday_change"],
    "Support (read-only)": VIEWS,
}


class Migration(migrations.Migration):
    dependencies = [("settlement", "0002_bahrain_calendar"), ("ops", "0001_staff_roles")]

    operations = [role_permissions_grant("settlement", GRANTS)]
