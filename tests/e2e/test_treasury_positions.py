"""Treasury's positions in the admin, in Chromium: a treasury operator sees on the dashboard the BHD
position with its 7-day forecast chart and the low-liquidity alert in red, then opens the positions
page with each nostro's figures and forecast. The server runs at the real time (another process),
so the state is built at the real time and the checks read amounts, not dates."""

import pytest
from playwright.sync_api import expect

from apps.core.actors import Actor
from apps.ledger.data import AccountRef, AccountRole
from apps.treasury.services import positions as positions_services
from tests.e2e.admin_pages import sign_in
from tests.factories import ledger as ledger_factories
from tests.factories import payouts as payout_factories
from tests.factories.staff import TREASURY, staff_user
from tests.support.seeds import settlement_seeds_restore


@pytest.fixture
def short_of_money(idle_sessions_ended_at_exit) -> None:
    """100.000 BHD at the payout nostro, a payout of 30.000 BHD not yet sent, a threshold of
    80.000 BHD: the forecast closes at 70.000 BHD, below it."""
    settlement_seeds_restore()
    payout_factories.payout_nostro()
    outcome = ledger_factories.post_one(AccountRef(AccountRole.NOSTRO, "BHD", True, name=payout_factories.NOSTRO),
                                        AccountRef(AccountRole.SUSPENSE, "BHD", True), 100_000, currency="BHD",
                                        livemode=True)
    assert outcome.result == "ok", outcome
    payout_factories.payout(payout_factories.funded_merchant(30_000, livemode=True), 30_000, livemode=True)
    positions_services.nostro_threshold_set(code=payout_factories.NOSTRO, threshold=80_000,
                                            actor=Actor.system("tests.e2e"), reason="keep 80.000 BHD")
    assert positions_services.positions_check().raised == [payout_factories.NOSTRO]


def test_treasury_sees_its_positions_and_the_low_liquidity_alert(new_page, screens, short_of_money):
    page = new_page()
    sign_in(page, staff_user(TREASURY, username="noor"))

    positions_tile = page.locator("#tile-treasury_positions")
    expect(positions_tile).to_contain_text("100.000 BHD")
    expect(positions_tile).to_contain_text("30.000 BHD")
    expect(positions_tile).to_contain_text("70.000 BHD")
    expect(positions_tile.locator("svg rect")).to_have_count(7)
    alerts_tile = page.locator("#tile-liquidity_alerts")
    expect(alerts_tile).to_contain_text(payout_factories.NOSTRO)
    expect(alerts_tile).to_contain_text("80.000 BHD")
    assert "tile-alarm" in alerts_tile.get_attribute("class")
    screens(page, "dashboard")

    page.click("#tile-treasury_positions h2 a")
    table = page.locator("#positions-BHD table.positions").first
    expect(table).to_contain_text("100.000 BHD")
    expect(page.locator("#positions-BHD table.forecast td.below")).to_have_count(7)  # 70.000 < 80.000 all week
    expect(page.locator(".messagelist")).to_contain_text("Low liquidity")
    screens(page, "positions")
