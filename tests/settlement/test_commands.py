"""manage.py business_date, on a Thursday in Bahrain before and after the cut-off (built inside the travel)."""

import json
from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db

BAHRAIN = ZoneInfo("Asia/Bahrain")


def _run(*arguments: str) -> str:
    out = StringIO()
    call_command("business_date", *arguments, stdout=out)
    return out.getvalue()


def test_it_prints_todays_business_date_its_cutoff_and_the_next_business_date():
    with time_machine.travel(datetime(2027, 2, 18, 16, 59, tzinfo=BAHRAIN), tick=False):
        assert _run() == ("BHD business date: 2027-02-18 Thursday\n"
                          "Cut-off: 2027-02-18 17:00 Asia/Bahrain (14:00 UTC)\n"
                          "Next business date: 2027-02-21 Sunday\n")
        assert json.loads(_run("--currency", "BHD", "--json")) == {
            "business_date": "2027-02-18", "cutoff_at": "2027-02-18T17:00:00+03:00", "next_business_date": "2027-02-21"}


def test_from_the_cutoff_on_today_belongs_to_the_next_business_date():
    with time_machine.travel(datetime(2027, 2, 18, 17, 0, tzinfo=BAHRAIN), tick=False):
        assert json.loads(_run("--json")) == {
            "business_date": "2027-02-21", "cutoff_at": "2027-02-21T17:00:00+03:00", "next_business_date": "2027-02-22"}


def test_a_currency_without_a_calendar_is_an_error():
    with pytest.raises(CommandError) as refused:
        _run("--currency", "EUR")

    assert str(refused.value) == "There is no business calendar for EUR."
