"""Positions and low-liquidity alerts: the 7-business-day forecast over Bahrain's Friday-Saturday
weekend from the nostro's ledger balance, payouts scheduled and a connector's settlement; a
threshold crossed raises one alert (one journal event, one outbox message), a second check
nothing, and the recovery clears it; the positions page and the tiles for a treasury operator."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.core.actors import Actor
from apps.events.outbox.models import OutboxMessage
from apps.ledger.data import AccountRef, AccountRole
from apps.ops import tiles
from apps.routing import selectors as routing_selectors
from apps.treasury import forecast
from apps.treasury.models import LiquidityAlert, NostroAccount
from apps.treasury.selectors import positions as positions_selectors
from apps.treasury.services import positions as positions_services
from tests.factories import ledger as ledger_factories
from tests.factories import payouts as payout_factories
from tests.factories.staff import TREASURY, signed_in_client, staff_user

pytestmark = pytest.mark.django_db

BAHRAIN = ZoneInfo("Asia/Bahrain")
# A Thursday, before the 17:00 cut-off: its business date is itself; Friday and Saturday are the weekend.
THURSDAY = datetime(2031, 4, 10, 10, 0, tzinfo=BAHRAIN)
TUESDAY = datetime(2031, 4, 8, 10, 0, tzinfo=BAHRAIN)
NOSTRO = payout_factories.NOSTRO
BUSINESS_DAYS = [date(2031, 4, 10), date(2031, 4, 13), date(2031, 4, 14), date(2031, 4, 15), date(2031, 4, 16),
                 date(2031, 4, 17), date(2031, 4, 20)]


def _post(debit: AccountRef, amount: int) -> None:
    outcome = ledger_factories.post_one(debit, AccountRef(AccountRole.SUSPENSE, "BHD", True), amount, currency="BHD",
                                        livemode=True)
    assert outcome.result == "ok", outcome


def _nostro_in(amount: int) -> None:
    """Money arrives at the bank (as a statement would show): the nostro is debited."""
    _post(AccountRef(AccountRole.NOSTRO, "BHD", True, name=NOSTRO), amount)


@pytest.fixture
def week():
    """Inside the travel: 100.000 BHD at the payout nostro, a second nostro with nothing, a payout of
    30.000 BHD whose hold passed on Wednesday (leaves Thursday), one of 50.000 BHD whose merchant's
    bank account was set today (held 24 h: past on Friday, so it leaves Sunday), and 20.000 BHD a
    connector owes (captured, arriving the next business day, Sunday)."""
    with time_machine.travel(TUESDAY, tick=False) as traveller:
        early = payout_factories.funded_merchant(30_000, livemode=True)
        traveller.move_to(THURSDAY)
        payout_factories.payout_nostro()
        NostroAccount.objects.create(code="bbk-bhd-02", currency="BHD", bank_name="BBK", bic="BBKUBHBM",
                                     iban="BH29BBKU00200003434501", account_name="Fincore B.S.C.")
        _nostro_in(100_000)
        payout_factories.payout(early, 30_000, livemode=True)
        payout_factories.payout(payout_factories.funded_merchant(50_000, livemode=True), 50_000, livemode=True)
        connector = routing_selectors.connector_names()[0]
        _post(AccountRef(AccountRole.CONNECTOR_CLEARING, "BHD", True, name=connector), 20_000)
        yield traveller


def test_the_forecast_over_the_weekend(week):
    found = positions_selectors.positions()
    [bhd] = found.currencies
    nbb = found.nostro(NOSTRO)
    assert [day.date for day in nbb.days] == BUSINESS_DAYS
    assert (nbb.ledger_balance, nbb.payouts_due, nbb.expected_in) == (100_000, 80_000, 20_000)
    assert [(day.flows_in, day.flows_out, day.closing) for day in nbb.days] == [
        (0, 30_000, 70_000), (20_000, 50_000, 40_000), *[(0, 0, 40_000)] * 5]
    assert [(flow.date, flow.kind, flow.amount) for flow in nbb.flows] == [
        (date(2031, 4, 10), forecast.PAYOUT_SCHEDULED, -30_000),
        (date(2031, 4, 13), forecast.CONNECTOR_SETTLEMENT, 20_000),
        (date(2031, 4, 13), forecast.PAYOUT_SCHEDULED, -50_000)]
    other = found.nostro("bbk-bhd-02")
    assert (other.ledger_balance, [day.closing for day in other.days]) == (0, [0] * 7)
    assert [day.closing for day in bhd.days] == [70_000, 40_000, *[40_000] * 5]
    assert (bhd.ledger_balance, bhd.payouts_due, bhd.expected_in, bhd.unassigned) == (100_000, 80_000, 20_000, ())


def _written() -> tuple[int, int, int]:
    return (LiquidityAlert.objects.count(),
            AuditEvent.objects.filter(action__startswith="treasury.low_liquidity").count(),
            OutboxMessage.objects.filter(task_name="treasury.low_liquidity_announce").count())


def test_a_crossing_raises_one_alert_and_the_recovery_clears_it(week):
    operator = Actor.system("tests.treasury")
    positions_services.nostro_threshold_set(code=NOSTRO, threshold=50_000, actor=operator, reason="floor")
    assert _written() == (0, 1, 0)  # the threshold's own journal event

    outcome = positions_services.positions_check()
    assert (outcome.raised, outcome.cleared) == ([NOSTRO], [])
    alert = LiquidityAlert.objects.get()
    assert (alert.nostro.code, alert.forecast_date, alert.forecast_balance, alert.threshold, alert.cleared_at) == (
        NOSTRO, date(2031, 4, 13), 40_000, 50_000, None)
    assert _written() == (1, 2, 1)
    event = AuditEvent.objects.get(action="treasury.low_liquidity")
    assert event.after == {"nostro": NOSTRO, "currency": "BHD", "forecast_date": "2031-04-13",
                           "forecast_balance": 40_000, "threshold": 50_000}
    message = OutboxMessage.objects.get(task_name="treasury.low_liquidity_announce")
    assert message.kwargs["event"]["type"] == "treasury.low_liquidity"
    assert message.kwargs["event"]["data"]["alert_id"] == str(alert.pk)

    again = positions_services.positions_check()
    assert (again.raised, again.cleared) == ([], [])
    assert _written() == (1, 2, 1)

    _nostro_in(20_000)  # the forecast now closes at 60.000 BHD at worst
    recovered = positions_services.positions_check()
    assert (recovered.raised, recovered.cleared) == ([], [NOSTRO])
    alert.refresh_from_db()
    assert alert.cleared_at is not None
    assert _written() == (1, 3, 2)
    assert AuditEvent.objects.get(action="treasury.low_liquidity_cleared").after == {
        "lowest_forecast_date": "2031-04-13", "lowest_forecast_balance": 60_000, "threshold": 50_000}
    assert positions_services.positions_check().cleared == []
    assert _written() == (1, 3, 2)


def test_no_threshold_no_alert(week):
    assert positions_services.positions_check().raised == []
    assert _written() == (0, 0, 0)


def test_a_threshold_is_whole_minor_units(week):
    with pytest.raises(positions_services.ThresholdInvalid):
        positions_services.nostro_threshold_set(code=NOSTRO, threshold=-1, actor=Actor.system("tests"), reason="x")
    assert NostroAccount.objects.get(code=NOSTRO).low_liquidity_threshold is None
    assert _written() == (0, 0, 0)


def test_positions_page_and_tiles_for_a_treasury_operator(week):
    positions_services.nostro_threshold_set(code=NOSTRO, threshold=50_000, actor=Actor.system("tests"), reason="x")
    positions_services.positions_check()
    client = signed_in_client(staff_user(TREASURY))
    page = client.get(reverse("admin:treasury_position_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "100.000 BHD" in html and "80.000 BHD" in html and "40.000 BHD" in html
    assert "Sun 13 Apr" in html and "Fri 11 Apr" not in html

    positions_tile = tiles.treasury_positions()
    [line] = positions_tile.lines
    assert (line.ledger_balance, line.payouts_due, line.expected_in, line.lowest) == (
        "100.000 BHD", "80.000 BHD", "20.000 BHD", "40.000 BHD")
    assert [bar.label for bar in positions_tile.charts[0].bars][:2] == ["Thu 10", "Sun 13"]
    # Above zero, but below the nostro's 50.000 BHD threshold from Sunday: the tile warns too.
    assert (line.below_zero, line.below_threshold) == ((), (f"{NOSTRO} from Sun 13 Apr",))
    assert positions_tile.state(THURSDAY) == "warning"
    alerts_tile = tiles.liquidity_alerts()
    assert [alert.nostro for alert in alerts_tile.alerts] == [NOSTRO]
    assert alerts_tile.state(THURSDAY) == "alarm"

    home = client.get(reverse("admin:index"))
    assert home.status_code == 200
    assert "Treasury: positions" in home.content.decode() and "Low-liquidity alerts" in home.content.decode()


def test_an_operator_sets_the_threshold_and_acknowledges_an_alert_with_a_reason(week):
    operator = staff_user(TREASURY)
    client = signed_in_client(operator)
    nostro = NostroAccount.objects.get(code=NOSTRO)
    url = reverse("admin:treasury_nostroaccount_change", args=[nostro.pk])
    refused = client.post(url, {"low_liquidity_threshold": "50000"})
    assert refused.status_code == 200
    assert NostroAccount.objects.get(code=NOSTRO).low_liquidity_threshold is None
    saved = client.post(url, {"low_liquidity_threshold": "50000", "change_reason": "keep 50.000 BHD for payouts"})
    assert saved.status_code == 302
    assert NostroAccount.objects.get(code=NOSTRO).low_liquidity_threshold == 50_000
    event = AuditEvent.objects.get(action="treasury.low_liquidity_threshold_set")
    assert (event.before["low_liquidity_threshold"], event.after["low_liquidity_threshold"], event.reason) == (
        None, 50_000, "keep 50.000 BHD for payouts")

    positions_services.positions_check()
    alert = LiquidityAlert.objects.get()
    changelist = reverse("admin:treasury_liquidityalert_changelist")
    done = client.post(changelist, {"action": "acknowledge", "_selected_action": [alert.pk], "apply": "1",
                                    "change_reason": "sweep from bbk-bhd-02 requested"})
    assert done.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None and operator.get_username() in alert.acknowledged_by
    assert alert.acknowledgement == "sweep from bbk-bhd-02 requested"
    assert AuditEvent.objects.filter(action="treasury.low_liquidity_acknowledged").count() == 1
