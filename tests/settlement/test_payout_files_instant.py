"""The payout file leaves out the payouts routing sends by an instant rail: they are routed first,
leave in transit by the rail, and the file takes what is left. Built inside a travel to April 2031.

Settlement pays out live money only, and the sandbox rails are test mode only (a database rule:
a simulator never moves live money). To stand in for a live instant rail, this test lifts that
rule inside its own transaction (rolled back with it) and makes the seeded sandbox rail live."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection

from apps.ledger.data import AccountRole
from apps.payments.models import Payout
from apps.routing.models import Connector
from apps.settlement import services
from apps.settlement.models import SettlementTerms
from tests.factories.payouts import payout_nostro
from tests.factories.settlement import captured
from tests.settlement.test_payout_files import ACTOR, MONDAY, at, merchant_with_bank_account, posted

pytestmark = pytest.mark.django_db


@pytest.fixture
def travel():
    with time_machine.travel(at(MONDAY, 9), tick=False) as traveller:
        yield traveller


@pytest.fixture
def nostro():
    return payout_nostro()


@pytest.fixture
def live_rail():
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE routing_connector DROP CONSTRAINT connector_simulators_test_only")
    Connector.objects.filter(name="fawri_instant").update(livemode=True, latency_ms=0)


def test_the_file_leaves_out_what_the_instant_rail_sends(travel, nostro, live_rail, settings):
    settings.FINCORE_INSTANT_PAYOUT_LIMITS = {"BHD": 50_000}
    coffee, tailor = merchant_with_bank_account("Gulf Coffee W.L.L."), merchant_with_bank_account("Manama Tailors")
    SettlementTerms.objects.filter(merchant__isnull=True).update(payout_minimum=0)
    captured(coffee, 100_000, at=at(MONDAY, 10), method="wire")
    captured(tailor, 20_000, at=at(MONDAY, 11), method="wire")
    travel.move_to(at(MONDAY, 18))
    services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    travel.move_to(at(MONDAY + timedelta(days=1), 10))

    payout_file = services.payout_file_create(currency="BHD", actor=ACTOR)

    coffee_payout, tailor_payout = (Payout.objects.get(merchant_id=m.pk) for m in (coffee, tailor))
    assert (payout_file.payouts, payout_file.control_sum) == (1, 99_000)
    assert tailor_payout.end_to_end_id.encode() not in bytes(payout_file.document)
    assert (coffee_payout.status, coffee_payout.nostro, coffee_payout.connector) == ("in_transit", "nbb-bhd-01", "")
    assert (tailor_payout.status, tailor_payout.nostro, tailor_payout.connector) == (
        "in_transit", "fawri_instant", "fawri_instant")
    assert "above the instant payout limit" in coffee_payout.routing["reason"]
    assert posted(AccountRole.PAYOUTS_IN_TRANSIT) == 118_000
    assert services.payout_file_create(currency="BHD", actor=ACTOR) is None
