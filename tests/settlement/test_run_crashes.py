"""A settlement run killed at any point, and run again, settles each merchant line with exactly
one chain of transfers and leaves the books balanced to the minor unit; two workers starting it
at once do the same. The run is a separate process (``manage.py settlement_run``) killed with
SIGKILL at a crash point (apps.core.faults): before a chunk's postings, during them (posted, not
committed) and after a chunk committed. Its state is built inside a travel to April 2031, and the
processes run with their clock moved there too."""

import json
import signal
from collections import Counter

import pytest
import time_machine

from apps.ledger import selectors as ledger_selectors
from apps.ledger.data import AccountRef, AccountRole
from apps.ledger.models import Transfer
from apps.settlement.domain.postings import line_legs
from apps.settlement.models import SettlementLine, SettlementRun
from apps.settlement.services import line_public_id
from tests.factories.merchants import MerchantFactory
from tests.factories.settlement import MONDAY, at, captured, refunded
from tests.support.seeds import settlement_seeds_restore
from tests.support.workers import django_process

pytestmark = pytest.mark.django_db(transaction=True)
AFTER_CUTOFF = at(MONDAY, 18)
MERCHANTS = 5
# Two lines a chunk: five merchants make three chunks, so each crash point has work before and after it.
ENV = {"FINCORE_SETTLEMENT_CHUNK_LINES": "2"}
RUN = f"""
import time_machine
from datetime import datetime
time_machine.travel(datetime.fromisoformat("{AFTER_CUTOFF.isoformat()}"), tick=True).start()
from django.core.management import call_command
call_command("settlement_run", "--date", "{MONDAY.isoformat()}", "--currency", "BHD", "--json")
"""


def settlement_process(crash_at: str | None = None):
    return django_process(RUN, env={**ENV, **({"FINCORE_CRASH_AT": crash_at} if crash_at else {})})


@pytest.fixture
def business_date(idle_sessions_ended_at_exit):
    """Five merchants' Monday: captures of each method, and a refund that takes from pending."""
    settlement_seeds_restore()
    with time_machine.travel(at(MONDAY, 9), tick=False):
        for n in range(MERCHANTS):
            merchant = MerchantFactory()
            payment = captured(merchant, 10_000 + n, at=at(MONDAY, 10, n))
            captured(merchant, 250_000, at=at(MONDAY, 11, n), method="wire")
            refunded(payment, 1_000 * (n + 1), at=at(MONDAY, 12, n))


def settled_exactly_once() -> None:
    run = SettlementRun.objects.get()
    assert run.status == SettlementRun.Status.COMPLETED
    lines = list(SettlementLine.objects.filter(run=run))
    assert len(lines) == MERCHANTS and all(line.status == SettlementLine.Status.SETTLED for line in lines)
    # One chain per line: its legs, each posted once (the client ids are unique, and nothing else
    # carries the line's reference).
    per_line = Counter(Transfer.objects.filter(code__startswith="settlement_").values_list("reference", flat=True))
    for line in lines:
        legs = line_legs(gross=line.gross, refunds_from_pending=line.refunds_from_pending, fees=line.fees,
                         reserve_held=line.reserve_held, reserve_released=line.reserve_released)
        assert per_line[line_public_id(line)] == len(legs) == 2  # the fees, and the sweep to available
        available = AccountRef(AccountRole.MERCHANT_AVAILABLE, "BHD", True, merchant_id=line.merchant_id)
        pending = AccountRef(AccountRole.MERCHANT_PENDING, "BHD", True, merchant_id=line.merchant_id)
        # The refund came out of pending: available holds exactly the net; pending is empty.
        assert ledger_selectors.role_account_balances(ref=available).posted == line.net
        assert ledger_selectors.role_account_balances(ref=pending).posted == 0
    assert ledger_selectors.ledger_verify().ok


@pytest.mark.parametrize("crash_at", ["settlement.before_post", "settlement.after_post", "settlement.after_chunk"])
def test_a_run_killed_at_a_crash_point_finishes_once_when_run_again_twice(business_date, crash_at):
    crashed = settlement_process(crash_at).communicate_result(120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    run = SettlementRun.objects.get()
    assert run.status == SettlementRun.Status.RUNNING
    settled = SettlementLine.objects.filter(status=SettlementLine.Status.SETTLED).count()
    # Killed after the first chunk committed: its two lines stand; before or during: none.
    assert settled == (2 if crash_at == "settlement.after_chunk" else 0)

    for _ in range(2):
        again = settlement_process().communicate_result(120)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["status"] == "completed"
    settled_exactly_once()
    assert SettlementRun.objects.get().attempts == 2


def test_two_workers_starting_the_run_at_once_settle_it_once(business_date):
    first, second = settlement_process(), settlement_process()
    results = [first.communicate_result(120), second.communicate_result(120)]
    assert [result.returncode for result in results] == [0, 0], [result.stderr for result in results]
    # Whichever found the run held returned it as it stood; a third start sees it completed.
    assert settlement_process().communicate_result(120).returncode == 0
    settled_exactly_once()
