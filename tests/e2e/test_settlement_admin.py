"""Settlement in the admin, in Chromium: a treasury operator sees a failed run in red on the
dashboard, opens the runs, a completed run, its lines and a line's payments, reads the failed run's
reason and its Resume page, and asks for a price change that a supervisor is to approve. The runs
are made by the run itself, inside a travel to Monday 7 and Tuesday 8 April 2031 (Bahrain)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings
from playwright.sync_api import expect

from apps.compliance.models import ApprovalRequest
from apps.core import faults, ids
from apps.core.actors import Actor
from apps.settlement import selectors, services
from apps.settlement.models import SettlementLine, SettlementRun
from tests.e2e.admin_pages import list_fits, sign_in
from tests.factories.merchants import MerchantFactory
from tests.factories.settlement import captured, refunded
from tests.factories.staff import TREASURY, staff_user
from tests.support.seeds import settlement_seeds_restore

BAHRAIN = ZoneInfo("Asia/Bahrain")
MONDAY, TUESDAY = date(2031, 4, 7), date(2031, 4, 8)
ACTOR = Actor.system("tests.e2e")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2031, 4, day, hour, minute, tzinfo=BAHRAIN)


@pytest.fixture
def settled_and_failed(idle_sessions_ended_at_exit, monkeypatch) -> tuple[SettlementRun, SettlementRun]:
    """Monday settled for two merchants; Tuesday's run failed after its first merchant."""
    settlement_seeds_restore()
    with time_machine.travel(at(7, 9), tick=False) as clock:
        bakery = MerchantFactory(legal_name="Gulf Bakery W.L.L.")
        pearl = MerchantFactory(legal_name="Pearl Electronics Co.")
        captured(bakery, 12_500, at=at(7, 10))
        second = captured(bakery, 13_500, at=at(7, 11))
        captured(pearl, 100_000, at=at(7, 12), method="wire")
        clock.move_to(at(7, 16))
        refunded(second, 5_000, at=at(7, 16))
        clock.move_to(at(7, 18))
        monday = services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
        services.fee_plan_create(code="enterprise", name="Enterprise", actor=ACTOR, reason="deal 2031-7")
        services.merchant_fee_plan_set(merchant_id=str(pearl.pk), plan="enterprise", effective_from=TUESDAY,
                                       actor=ACTOR, reason="deal 2031-7")
        captured(bakery, 7_000, at=at(8, 10))
        captured(pearl, 3_000, at=at(8, 11), method="instant")
        clock.move_to(at(8, 18))

        def crash_point(name: str) -> None:
            if name == "settlement.after_chunk":
                raise ConnectionError("could not reach the ledger's database (timeout after 30 s)")

        monkeypatch.setattr(faults, "crash_point", crash_point)
        with override_settings(FINCORE_SETTLEMENT_CHUNK_LINES=1), pytest.raises(ConnectionError):
            services.settlement_run(business_date=TUESDAY, currency="BHD", actor=ACTOR)
        monkeypatch.undo()
    return monday, SettlementRun.objects.get(business_date=TUESDAY)


def test_treasury_follows_a_run_to_its_payments_and_asks_for_a_price_change(new_page, screens, settled_and_failed):
    monday, tuesday = settled_and_failed
    page = new_page()
    sign_in(page, staff_user(TREASURY, username="tariq"))

    tile = page.locator("#tile-settlement")
    expect(tile).to_contain_text("Earlier runs failed")
    expect(tile).to_contain_text("could not reach the ledger's database")
    assert "tile-alarm" in tile.get_attribute("class")
    screens(page, "dashboard")

    page.click("#tile-settlement h2 a")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Failed")
    expect(rows.nth(0)).to_contain_text("1 of 2")
    expect(rows.nth(1)).to_contain_text("119.275 BHD")
    screens(page, "runs")
    assert list_fits(page)

    rows.nth(1).locator("th a").click()
    expect(page.locator(".run-totals")).to_contain_text("119.275 BHD")
    expect(page.locator(".object-tools")).not_to_contain_text("Resume")
    screens(page, "completed-run")

    page.click("a.run-lines")
    lines = page.locator("#result_list tbody tr")
    expect(lines).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text("Gulf Bakery W.L.L.")
    expect(page.locator("#result_list")).to_contain_text("20.275 BHD")
    screens(page, "run-lines")
    assert list_fits(page)

    lines.filter(has_text="Gulf Bakery W.L.L.").locator("th a").click()
    bakery_line = SettlementLine.objects.get(run=monday, gross=26_000)
    expect(page.locator("#content")).to_contain_text(ids.encode("stl", bakery_line.pk))
    expect(page.locator(".line-payments")).to_have_text("2 payments captured")
    screens(page, "line")
    page.click("a.line-payments")
    payments = page.locator("#result_list tbody tr")
    expect(payments).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text("13.500 BHD")
    expect(page.locator("#result_list")).to_contain_text("12.500 BHD")
    screens(page, "line-payments")

    page.goto(f"/admin/settlement/settlementrun/{tuesday.pk}/change/")
    expect(page.locator(".run-failure")).to_contain_text("ConnectionError: could not reach the ledger's database")
    screens(page, "failed-run")
    page.click("a.resume-run")
    expect(page.locator("h1")).to_contain_text("Resume the BHD 2031-04-08 run")
    screens(page, "resume")

    # Prices and terms, each list at 1366 px.
    for name in ("feeplan", "merchantfeeplan", "settlementterms", "feeplanline"):
        page.goto(f"/admin/settlement/{name}/")
        expect(page.locator("#result_list tbody tr").first).to_be_visible()
        screens(page, name)
        assert list_fits(page), name

    # A price change, from the next business date as the server's clock counts it.
    page.click("text=Request a price change")
    effective = selectors.business_day(currency="BHD").next_business_date
    page.select_option("#id_method", "card")
    page.fill("#id_percent", "2.25")
    page.fill("#id_fixed", "0.100")
    page.fill("#id_minimum", "0.200")
    page.fill("#id_effective_from", effective.isoformat())
    page.fill("#id_reason", "Board decision 2031-14: card price down")
    screens(page, "price-change-form")
    page.click("input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("Requested")
    screens(page, "price-change-requested")

    request = ApprovalRequest.objects.get()
    assert (request.action, request.maker.username, request.state) == (
        services.FEE_PLAN_LINE_SET, "tariq", ApprovalRequest.State.PENDING)
    assert request.arguments == {"plan": "default", "method": "card", "currency": "BHD", "percent": "2.25",
                                 "fixed": 100, "minimum": 200, "maximum": None,
                                 "effective_from": effective.isoformat()}
