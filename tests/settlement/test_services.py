"""The business calendar against PostgreSQL: the seeded BHD calendar, holiday changes as
maker-checker requests (treasury asks, a supervisor approves), and what they refuse. Every test
builds its state inside a travel to February 2027, before Eid al-Fitr's estimated 9-11 March."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group

from apps.audit.models import AuditEvent
from apps.compliance import services as compliance_services
from apps.compliance.models import ApprovalRequest
from apps.core.actors import Actor
from apps.settlement import selectors, services
from apps.settlement.exceptions import BusinessDateNotOpen, HolidayChangeRefused, ReasonRequired, UnknownCalendar
from apps.settlement.models import BusinessCalendar, EarlyClosure, Holiday
from tests.factories.staff import OFFICER, SUPERVISOR, TREASURY, staff_user, totp_code

pytestmark = pytest.mark.django_db

BAHRAIN = ZoneInfo("Asia/Bahrain")
FEBRUARY_2027 = datetime(2027, 2, 15, 10, 0, tzinfo=BAHRAIN)
EID_AL_FITR_2027 = [date(2027, 3, 9), date(2027, 3, 10), date(2027, 3, 11)]
STAFF = Actor.system("tests.settlement")


@pytest.fixture
def february_2027():
    with time_machine.travel(FEBRUARY_2027, tick=False):
        yield


def _holidays(year_month: str) -> list[tuple[str, str, str, bool]]:
    year, month = map(int, year_month.split("-"))
    return [(f"{h.date:%Y-%m-%d}", h.name, h.source, h.estimated)
            for h in Holiday.objects.filter(calendar__currency="BHD", date__year=year, date__month=month)]


def _settlement_events() -> list[str]:
    return list(AuditEvent.objects.filter(action__startswith="settlement.").values_list("action", flat=True))


# --- what migrate leaves --------------------------------------------------------------------------


def test_migrate_seeds_bahrains_calendar_with_its_holidays_islamic_ones_estimated_where_not_known():
    calendar = BusinessCalendar.objects.get(currency="BHD")

    assert (calendar.market_country, calendar.time_zone, calendar.weekend_days, calendar.cutoff) == (
        "BH", "Asia/Bahrain", [4, 5], time(17, 0))
    seeded = Holiday.objects.filter(calendar=calendar)
    assert (seeded.count(), seeded.filter(estimated=True).count()) == (184, 103)
    assert {h.year for h in seeded.values_list("date", flat=True)} == set(range(2024, 2037))
    assert set(seeded.values_list("source", flat=True)) == {"seeded"}
    assert _holidays("2026-03") == [("2026-03-20", "Eid al-Fitr", "seeded", False),
                                    ("2026-03-21", "Eid al-Fitr", "seeded", False),
                                    ("2026-03-22", "Eid al-Fitr", "seeded", False)]
    assert _holidays("2027-03") == [(f"{day:%Y-%m-%d}", "Eid al-Fitr", "seeded", True) for day in EID_AL_FITR_2027]
    assert _holidays("2036-12") == [("2036-12-16", "National Day", "seeded", False),
                                    ("2036-12-17", "National Day", "seeded", False)]


def _permissions(role: str) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=role).permissions.select_related("content_type")
            if p.content_type.app_label == "settlement"}


def test_everyone_sees_settlement_and_treasury_requests_its_changes_and_resumes_runs():
    views = {"settlement.view_businesscalendar", "settlement.view_holiday", "settlement.view_feeplan",
             "settlement.view_feeplanline", "settlement.view_merchantfeeplan", "settlement.view_settlementterms",
             "settlement.view_settlementrun", "settlement.view_settlementline", "settlement.view_payoutfile",
             "settlement.view_statusreport"}
    for role in (OFFICER, SUPERVISOR, "Support (read-only)"):
        assert _permissions(role) == views, role
    assert _permissions(TREASURY) == views | {"settlement.request_holiday_change", "settlement.request_fee_change",
                                              "settlement.resume_settlementrun", "settlement.import_statusreport"}


# --- the reads ------------------------------------------------------------------------------------


def test_the_business_date_now_its_cutoff_and_the_next_follow_the_clock(february_2027):
    # Monday 15 February 2027, 10:00 in Bahrain.
    assert selectors.business_date(currency="BHD") == date(2027, 2, 15)
    assert selectors.cutoff_at(currency="bhd", business_date=date(2027, 2, 15)) == datetime(
        2027, 2, 15, 17, 0, tzinfo=BAHRAIN)
    assert selectors.next_business_date(currency="BHD", after=date(2027, 2, 18)) == date(2027, 2, 21)
    assert selectors.business_dates(currency="BHD", start=date(2027, 3, 7), end=date(2027, 3, 14)) == [
        date(2027, 3, 7), date(2027, 3, 8), date(2027, 3, 14)]
    with pytest.raises(UnknownCalendar):
        selectors.business_date(currency="KWD")


# --- maker-checker --------------------------------------------------------------------------------


def test_treasury_moves_an_estimated_eid_day_once_a_supervisor_approves(february_2027):
    maker, checker = staff_user(TREASURY), staff_user(SUPERVISOR)
    holiday = Holiday.objects.get(calendar__currency="BHD", date=date(2027, 3, 9))

    request = compliance_services.approval_request_create(
        action=services.HOLIDAY_MOVE, arguments={"currency": "BHD", "date": "2027-03-09", "new_date": "2027-03-12"},
        user=maker, reason="Ministry announcement: Eid al-Fitr starts Wednesday 10 March")

    assert request.state == ApprovalRequest.State.PENDING
    assert (request.target_type, request.target_id) == ("settlement.holiday", str(holiday.pk))
    assert request.target_label == "BHD: move Eid al-Fitr from 2027-03-09 to 2027-03-12"
    assert _holidays("2027-03")[0] == ("2027-03-09", "Eid al-Fitr", "seeded", True)
    assert _settlement_events() == []

    compliance_services.approval_request_approve(request_id=request.pk, user=checker, otp_token=totp_code(checker))

    request.refresh_from_db()
    assert request.state == ApprovalRequest.State.EXECUTED
    assert _holidays("2027-03") == [("2027-03-10", "Eid al-Fitr", "seeded", True),
                                    ("2027-03-11", "Eid al-Fitr", "seeded", True),
                                    ("2027-03-12", "Eid al-Fitr", "staff", False)]
    moved = AuditEvent.objects.get(action="settlement.holiday_moved")
    assert (moved.object_type, moved.object_id) == ("settlement.holiday", str(holiday.pk))
    assert moved.actor_label == f"{maker.username}, approved by {checker.username}"
    assert moved.reason == "Ministry announcement: Eid al-Fitr starts Wednesday 10 March"
    assert (moved.before["date"], moved.after["date"], moved.before["estimated"], moved.after["estimated"]) == (
        "2027-03-09", "2027-03-12", True, False)
    # Tuesday 9 March is a business day now.
    assert selectors.business_date(currency="BHD", at=datetime(2027, 3, 8, 17, 30, tzinfo=BAHRAIN)) == date(2027, 3, 9)


def test_a_compliance_officer_may_not_request_a_holiday_change(february_2027):
    with pytest.raises(compliance_services.NotAMaker):
        compliance_services.approval_request_create(
            action=services.HOLIDAY_REMOVE, arguments={"currency": "BHD", "date": "2027-03-09"},
            user=staff_user(OFFICER), reason="not theirs to ask")

    assert ApprovalRequest.objects.count() == 0
    assert _holidays("2027-03")[0] == ("2027-03-09", "Eid al-Fitr", "seeded", True)


@pytest.mark.parametrize(("action", "arguments", "refusal"), [
    (services.HOLIDAY_MOVE, {"currency": "BHD", "date": "2027-03-09", "new_date": "2027-03-10"},
     "2027-03-10 is already a holiday of BHD (Eid al-Fitr)."),
    (services.HOLIDAY_MOVE, {"currency": "BHD", "date": "2027-03-09", "new_date": "2027-03-09"},
     "Eid al-Fitr is already on 2027-03-09."),
    (services.HOLIDAY_REMOVE, {"currency": "BHD", "date": "2027-03-08"}, "BHD has no holiday on 2027-03-08."),
    (services.HOLIDAY_ADD, {"currency": "BHD", "date": "2027-02-14", "name": "Too late"},
     "2027-02-14 is past (BHD's today is 2027-02-15): its business dates stand."),
    (services.HOLIDAY_ADD, {"currency": "BHD", "date": "2027-02-16", "name": " "}, "A new holiday needs its name."),
    (services.HOLIDAY_ADD, {"currency": "BHD", "date": "16/02/2027", "name": "Bank holiday"},
     "The date '16/02/2027' is not a date (YYYY-MM-DD)."),
    (services.HOLIDAY_REMOVE, {"currency": "KWD", "date": "2027-03-09"}, "There is no business calendar for KWD."),
])
def test_a_request_no_change_could_follow_is_refused_and_nothing_is_written(february_2027, action, arguments,
                                                                            refusal):
    before = _holidays("2027-03") + _holidays("2027-02")

    with pytest.raises((HolidayChangeRefused, UnknownCalendar)) as refused:
        compliance_services.approval_request_create(action=action, arguments=arguments, user=staff_user(TREASURY),
                                                    reason="tests")

    assert refused.value.detail == refusal
    assert ApprovalRequest.objects.count() == 0
    assert _holidays("2027-03") + _holidays("2027-02") == before
    assert AuditEvent.objects.count() == 0


def test_a_request_overtaken_before_approval_fails_and_changes_nothing(february_2027):
    maker, checker = staff_user(TREASURY), staff_user(SUPERVISOR)
    request = compliance_services.approval_request_create(
        action=services.HOLIDAY_MOVE, arguments={"currency": "BHD", "date": "2027-03-09", "new_date": "2027-03-14"},
        user=maker, reason="announced")
    services.holiday_add(currency="BHD", date=date(2027, 3, 14), name="Bank holiday", actor=STAFF,
                         reason="decree")

    compliance_services.approval_request_approve(request_id=request.pk, user=checker, otp_token=totp_code(checker))

    request.refresh_from_db()
    assert (request.state, request.outcome) == (
        ApprovalRequest.State.FAILED, "2027-03-14 is already a holiday of BHD (Bank holiday).")
    assert _settlement_events() == ["settlement.holiday_added"]
    assert _holidays("2027-03")[0] == ("2027-03-09", "Eid al-Fitr", "seeded", True)


def test_adding_and_removing_a_holiday_are_journaled_with_the_holiday_as_it_was(february_2027):
    added = services.holiday_add(currency="BHD", date="2027-02-25", name="Bank holiday", actor=STAFF, reason="decree")

    assert (added.source, added.estimated, added.name) == ("staff", False, "Bank holiday")
    assert selectors.business_dates(currency="BHD", start=date(2027, 2, 24), end=date(2027, 2, 28)) == [
        date(2027, 2, 24), date(2027, 2, 28)]

    outcome = services.holiday_remove(currency="BHD", date="2027-02-25", actor=STAFF, reason="decree withdrawn")

    assert outcome == "Removed Bank holiday on 2027-02-25 (BHD)."
    assert not Holiday.objects.filter(calendar__currency="BHD", date=date(2027, 2, 25)).exists()
    journal = list(AuditEvent.objects.filter(action__startswith="settlement.").order_by("id")
                   .values_list("action", "object_id", "before", "after", "reason"))
    state = {"currency": "BHD", "date": "2027-02-25", "name": "Bank holiday", "source": "staff", "estimated": False}
    assert journal == [("settlement.holiday_added", str(added.pk), None, state, "decree"),
                       ("settlement.holiday_removed", str(added.pk), state, None, "decree withdrawn")]


# --- closing a day early --------------------------------------------------------------------------


def test_closing_today_early_sends_the_rest_of_the_day_to_the_next_business_date():
    # Thursday 18 February 2027, 11:00 in Bahrain.
    with time_machine.travel(datetime(2027, 2, 18, 11, 0, tzinfo=BAHRAIN), tick=False):
        closure = services.business_date_close_early(currency="BHD", actor=STAFF, reason="a sudden holiday")

        assert (closure.business_date, closure.closed_at, closure.by) == (
            date(2027, 2, 18), datetime(2027, 2, 18, 11, 0, tzinfo=BAHRAIN), "tests.settlement")
        assert selectors.business_date(currency="BHD") == date(2027, 2, 21)
        assert selectors.business_date(currency="BHD", at=datetime(2027, 2, 18, 10, 59, tzinfo=BAHRAIN)) == date(
            2027, 2, 18)
        assert selectors.cutoff_at(currency="BHD", business_date=date(2027, 2, 18)) == datetime(
            2027, 2, 18, 11, 0, tzinfo=BAHRAIN)
        closed = AuditEvent.objects.get(action="settlement.business_date_closed_early")
        assert (closed.object_id, closed.after, closed.reason) == (
            str(closure.pk),
            {"currency": "BHD", "business_date": "2027-02-18", "closed_at": "2027-02-18T08:00:00+00:00"},
            "a sudden holiday")

        with pytest.raises(BusinessDateNotOpen) as refused:
            services.business_date_close_early(currency="BHD", actor=STAFF, reason="again")

        assert refused.value.detail == (
            "BHD's business date now is 2027-02-21, not today (2027-02-18): today is no business day, past its "
            "cut-off or closed.")
        assert EarlyClosure.objects.count() == 1
        assert _settlement_events() == ["settlement.business_date_closed_early"]


@pytest.mark.parametrize("at", [
    datetime(2027, 2, 19, 11, 0, tzinfo=BAHRAIN),  # Friday
    datetime(2027, 2, 18, 17, 0, tzinfo=BAHRAIN),  # Thursday, at the cut-off
])
def test_a_day_that_is_not_open_cannot_be_closed_early(at):
    with time_machine.travel(at, tick=False):
        with pytest.raises(BusinessDateNotOpen):
            services.business_date_close_early(currency="BHD", actor=STAFF, reason="storm")

        with pytest.raises(ReasonRequired):
            services.business_date_close_early(currency="BHD", actor=STAFF, reason=" ")

        assert EarlyClosure.objects.count() == 0
        assert _settlement_events() == []
