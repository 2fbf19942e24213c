"""The dashboard's settlement tile: per currency, the last closed business date and its run (not
started, running with its progress, completed with its net, failed in red with why and, for
treasury, where to resume it), and every failed run of an earlier date; four queries. State is
built inside a travel to April 2031: Monday 7 is a business date, Sunday 6 the one before."""

import re
from datetime import date, datetime
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from apps.core import faults
from apps.core.actors import Actor
from apps.ops import tiles
from apps.settlement import services
from apps.settlement.models import SettlementRun
from tests.factories.merchants import MerchantFactory
from tests.factories.settlement import captured
from tests.factories.staff import SUPPORT, TREASURY, signed_in_client, staff_user

pytestmark = pytest.mark.django_db

BAHRAIN = ZoneInfo("Asia/Bahrain")
SUNDAY, MONDAY = date(2031, 4, 6), date(2031, 4, 7)
ACTOR = Actor.system("tests")


class Killed(BaseException):
    """What SIGKILL is to a worker: nothing of the run's own handling sees it."""


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2031, 4, day, hour, minute, tzinfo=BAHRAIN)


@pytest.fixture
def clock():
    """Monday: one merchant's capture on Sunday and two on Monday, by two merchants."""
    with time_machine.travel(at(6, 9), tick=False) as traveller:
        acme, zain = MerchantFactory(), MerchantFactory()
        captured(acme, 4_000, at=at(6, 10))
        captured(acme, 12_500, at=at(7, 10))
        captured(zain, 100_000, at=at(7, 11), method="wire")
        yield traveller


def _tile(client) -> tuple[str, str]:
    """The settlement tile's state and text, as the dashboard draws it now."""
    cache.clear()
    response = client.get("/admin/")
    tile = {tile.key: tile for tile in response.context["tiles"]}["settlement"]
    html = re.search(r'<section class="tile [^"]*" id="tile-settlement".*?</section>', response.content.decode(),
                     re.S).group(0)
    return tile.state, re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def _run_failed_after_first_line(monkeypatch) -> SettlementRun:
    def crash_point(name: str) -> None:
        if name == "settlement.after_chunk":
            raise ConnectionError("the ledger's database went away")

    monkeypatch.setattr(faults, "crash_point", crash_point)
    with override_settings(FINCORE_SETTLEMENT_CHUNK_LINES=1), pytest.raises(ConnectionError):
        services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    monkeypatch.undo()
    return SettlementRun.objects.get(business_date=MONDAY)


def test_a_day_not_started_is_fine_just_after_its_cut_off_and_late_half_an_hour_on(clock):
    clock.move_to(at(7, 17, 10))
    treasury = signed_in_client(staff_user(TREASURY))

    assert _tile(treasury) == ("ok", "Settlement: the last closed business date ok Currency Business date Run Net "
                                     "BHD Mon 7 Apr not started closed 10 minutes ago")
    clock.move_to(at(7, 17, 31))
    assert _tile(treasury)[0] == "warning"


def test_a_completed_run_shows_its_net(clock):
    clock.move_to(at(7, 18))
    services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)

    state, text = _tile(signed_in_client(staff_user(SUPPORT)))

    # Card 2.5 % + 0.100 of 12.500 = 412.5 → 412; a wire 1.000 flat: 112.500 - 1.412.
    assert (state, text.split("Net ")[1]) == ("ok", "BHD Mon 7 Apr completed 111.088 BHD")


def test_a_run_left_running_shows_how_far_it_got(clock, monkeypatch):
    clock.move_to(at(7, 17, 5))

    def killed(name: str) -> None:
        if name == "settlement.after_chunk":
            raise Killed

    monkeypatch.setattr(faults, "crash_point", killed)
    with override_settings(FINCORE_SETTLEMENT_CHUNK_LINES=1), pytest.raises(Killed):
        services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    monkeypatch.undo()
    clock.move_to(at(7, 17, 10))

    state, text = _tile(signed_in_client(staff_user(SUPPORT)))

    assert (state, text.split("Net ")[1]) == ("ok", "BHD Mon 7 Apr running 1 of 2 merchants")


def test_a_failed_run_is_red_with_why_and_treasury_is_shown_where_to_resume_it(clock, monkeypatch):
    clock.move_to(at(7, 17, 5))
    run = _run_failed_after_first_line(monkeypatch)
    resume = reverse("admin:settlement_settlementrun_resume", args=[run.pk])

    treasury, support = signed_in_client(staff_user(TREASURY)), signed_in_client(staff_user(SUPPORT))
    state, text = _tile(treasury)

    assert (state, text.split("Net ")[1]) == (
        "alarm", "BHD Mon 7 Apr failed ConnectionError: the ledger's database went away Resume")
    assert f'href="{resume}"' in treasury.get("/admin/").content.decode()
    assert "Resume" not in _tile(support)[1]


def test_an_earlier_failed_run_keeps_the_tile_red_after_later_days_complete(clock, monkeypatch):
    clock.move_to(at(7, 17, 5))
    _run_failed_after_first_line(monkeypatch)
    clock.move_to(at(8, 18))  # Tuesday closed: Monday's failed run waits for a person
    services.settlement_run(business_date=date(2031, 4, 8), currency="BHD", actor=ACTOR)

    state, text = _tile(signed_in_client(staff_user(TREASURY)))

    assert state == "alarm"
    assert text.split("Net ")[1] == ("BHD Tue 8 Apr completed 0.000 BHD Earlier runs failed: BHD Mon 7 Apr 2031 : "
                                     "ConnectionError: the ledger's database went away Resume")


def test_the_tile_reads_four_queries_whatever_it_shows(clock, monkeypatch, django_assert_num_queries):
    clock.move_to(at(7, 17, 5))
    _run_failed_after_first_line(monkeypatch)

    with django_assert_num_queries(4):
        tile = tiles.settlement()

    assert [(day.currency, day.business_date, day.status, day.merchants_settled, day.merchants)
            for day in tile.days] == [("BHD", MONDAY, "failed", 1, 2)]
    assert tile.href == reverse("admin:settlement_settlementrun_changelist")


def test_officers_and_supervisors_see_it_too_a_staff_member_without_a_role_does_not(clock):
    for role in ("Compliance officer", "Compliance supervisor"):
        response = signed_in_client(staff_user(role)).get("/admin/")
        assert "settlement" in [tile.key for tile in response.context["tiles"]], role
    assert signed_in_client(staff_user()).get("/admin/").context["tiles"] == []
