"""The business calendar in the admin: read-only lists at a fixed number of queries, and the
"Request a holiday change" page that makes a maker-checker request (and nothing else)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from apps.compliance.models import ApprovalRequest
from apps.settlement import services
from apps.settlement.models import Holiday
from tests.factories.staff import SUPPORT, TREASURY, signed_in_client, staff_user

pytestmark = pytest.mark.django_db

BAHRAIN = ZoneInfo("Asia/Bahrain")
REQUEST_CHANGE = reverse("admin:settlement_holiday_request_change")
# The session, the user, their device, the calendar filter's choices, two counts, the page, and
# the date hierarchy's range and years (a year's page: its months, and one count).
QUERIES_PER_FULL_PAGE, QUERIES_PER_YEAR_PAGE = 9, 8


@pytest.fixture
def february_2027():
    with time_machine.travel(datetime(2027, 2, 15, 10, 0, tzinfo=BAHRAIN), tick=False):
        yield


def test_the_holiday_list_costs_the_same_queries_for_a_year_or_a_full_page(admin_client, django_assert_num_queries):
    url = reverse("admin:settlement_holiday_changelist")
    admin_client.get(url)  # the session and permissions, read once

    with django_assert_num_queries(QUERIES_PER_YEAR_PAGE):
        one_year = admin_client.get(url, {"date__year": "2024"})
    with django_assert_num_queries(QUERIES_PER_FULL_PAGE):
        full_page = admin_client.get(url)

    assert len(one_year.context["cl"].result_list) == 14
    assert len(full_page.context["cl"].result_list) == 100
    assert "Request a holiday change" in full_page.content.decode()


def test_the_calendar_list_shows_the_weekend_cutoff_and_holiday_count(admin_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("admin:settlement_businesscalendar_changelist"))

    row = response.content.decode()
    assert response.status_code == 200
    for shown in ("BHD", "Asia/Bahrain", "Friday, Saturday", "5 p.m.", ">184<"):
        assert shown in row, shown


def test_treasury_requests_moving_a_holiday_and_nothing_changes_until_it_is_approved(february_2027):
    client = signed_in_client(staff_user(TREASURY))
    holiday = Holiday.objects.get(calendar__currency="BHD", date=date(2027, 3, 9))

    form = client.get(REQUEST_CHANGE, {"holiday": holiday.pk})
    assert form.status_code == 200
    assert form.context["form"].initial == {"calendar": "BHD", "date": date(2027, 3, 9), "name": "Eid al-Fitr"}
    response = client.post(REQUEST_CHANGE, {
        "calendar": "BHD", "change": services.HOLIDAY_MOVE, "date": "2027-03-09", "new_date": "2027-03-12",
        "name": "", "reason": "announced by the Ministry"})

    request = ApprovalRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:compliance_approvalrequest_change", args=[request.pk])
    assert (request.action, request.arguments, request.state, request.reason) == (
        services.HOLIDAY_MOVE, {"currency": "BHD", "date": "2027-03-09", "new_date": "2027-03-12"},
        ApprovalRequest.State.PENDING, "announced by the Ministry")
    holiday.refresh_from_db()
    assert (holiday.date, holiday.estimated) == (date(2027, 3, 9), True)


def test_a_holidays_page_starts_a_request_from_that_holiday_for_treasury_only(february_2027):
    holiday = Holiday.objects.get(calendar__currency="BHD", date=date(2027, 3, 9))
    page = reverse("admin:settlement_holiday_change", args=[holiday.pk])

    treasury = signed_in_client(staff_user(TREASURY))
    assert f'href="{REQUEST_CHANGE}?holiday={holiday.pk}"' in treasury.get(page).content.decode()
    # A holiday that is no holiday's id starts an empty form, not an error.
    assert treasury.get(REQUEST_CHANGE, {"holiday": "not-an-id"}).context["form"].initial == {}
    support = signed_in_client(staff_user(SUPPORT))
    assert "Request a" not in support.get(page).content.decode()


@pytest.mark.parametrize(("fields", "error"), [
    ({"change": services.HOLIDAY_MOVE, "date": "2027-03-09", "new_date": ""},
     "Moving a holiday needs the date it moves to."),
    ({"change": services.HOLIDAY_ADD, "date": "2027-03-15", "name": ""}, "A new holiday needs its name."),
    ({"change": services.HOLIDAY_REMOVE, "date": "2027-03-15"}, "BHD has no holiday on 2027-03-15."),
])
def test_a_request_that_cannot_be_made_is_shown_with_its_error_and_nothing_is_written(february_2027, fields, error):
    client = signed_in_client(staff_user(TREASURY))

    response = client.post(REQUEST_CHANGE, {"calendar": "BHD", "reason": "tests", **fields})

    assert response.status_code == 200
    assert error in response.content.decode()
    assert ApprovalRequest.objects.count() == 0


def test_support_sees_holidays_but_may_not_ask_to_change_them():
    client = signed_in_client(staff_user(SUPPORT))

    listed = client.get(reverse("admin:settlement_holiday_changelist"))
    assert listed.status_code == 200
    assert "Request a holiday change" not in listed.content.decode()
    assert client.get(REQUEST_CHANGE).status_code == 403
    assert client.post(REQUEST_CHANGE, {"calendar": "BHD", "change": services.HOLIDAY_REMOVE,
                                        "date": "2030-01-01", "reason": "no"}).status_code == 403
    assert ApprovalRequest.objects.count() == 0
