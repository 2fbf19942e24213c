"""The suite's own time-travel machinery: the guard against travelling behind the rows a test
wrote, and how the tests that depend on the clock are found."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.core import clock
from apps.ledger import data, engine, services
from apps.ledger.models import Transfer
from tests.factories.ledger import client_id, fund, funding, wallet
from tests.support.time_travel import TravelledBehindItsRows, a_day_ahead, depends_on_the_clock, uses_the_clock

pytestmark = pytest.mark.django_db

# A fixed instant in the past, as the expiry sweep tests of issue 8 had.
T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _hold(debit, credit) -> Transfer:
    [outcome] = engine.post([data.TransferSpec(
        client_id=client_id("hold"), kind=data.Kind.PENDING, debit_account_id=debit.pk, credit_account_id=credit.pk,
        amount=100, currency="BHD", timeout_seconds=60,
    )])
    return Transfer.objects.get(pk=outcome.transfer_id)


def test_it_fails_the_expiry_sweep_test_of_issue_8_where_it_travels():
    customer = wallet()
    fund(customer, 1_000)  # at the present: the engine stamps the customer's next postings no earlier
    travels = len(time_machine.traveller_stack)

    with pytest.raises(TravelledBehindItsRows, match=r"travels to 2026-11-29T09:00:00\+00:00, before rows it wrote"):
        time_machine.travel(T0, tick=False).start()
    assert len(time_machine.traveller_stack) == travels  # refused before it started


def test_it_fails_the_pytest_fixture_too(time_machine):
    funding()
    with pytest.raises(TravelledBehindItsRows):
        time_machine.move_to(T0, tick=False)


def test_state_built_inside_the_travel_may_go_anywhere_from_there():
    with time_machine.travel(T0, tick=False) as traveller:
        source, customer = funding(), wallet()
        fund(customer, 1_000)
        hold = _hold(customer, source)
        traveller.move_to(T0 - timedelta(hours=1))  # inside a travel, going back is the test's business
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):  # nothing written at the present since
        assert services.pending_transfers_expire() == 1
    assert Transfer.objects.get(pending_id=hold.pk).kind == data.Kind.EXPIRE_PENDING


def test_rows_written_at_the_present_between_two_travels_are_caught():
    with time_machine.travel(T0, tick=False):
        funding()
    wallet()  # at the present
    with pytest.raises(TravelledBehindItsRows):
        time_machine.travel(T0 + timedelta(hours=1), tick=False).start()


def test_travelling_ahead_of_the_rows_or_back_before_writing_any_is_fine():
    with time_machine.travel(clock.now() - timedelta(days=30), tick=False):
        pass  # nothing written yet
    source, customer = funding(), wallet()
    with time_machine.travel(a_day_ahead(), tick=False):
        fund(customer, 1_000, source=source)


def test_its_queries_are_not_counted_by_query_assertions(django_assert_num_queries):
    funding()
    with django_assert_num_queries(0), time_machine.travel(a_day_ahead(), tick=False):
        pass


def _helper_that_reads_the_clock() -> datetime:
    return a_day_ahead()


def _helper_that_does_not() -> int:
    return len("no clock here")


class _MachineThatTravels:
    def start(self) -> None:
        self.traveller = time_machine.travel(T0, tick=False).start()


def test_a_test_that_travels_or_reads_the_clock_is_found_through_its_helpers_and_classes():
    assert uses_the_clock(_helper_that_reads_the_clock)
    assert uses_the_clock(_MachineThatTravels)
    assert not uses_the_clock(_helper_that_does_not)


def test_the_tests_of_this_module_are_marked_where_they_travel(request):
    marked = {item.name for item in request.session.items
              if item.module.__name__ == __name__ and item.get_closest_marker("time_sensitive")}
    assert "test_it_fails_the_pytest_fixture_too" in marked  # the time_machine fixture
    assert "test_state_built_inside_the_travel_may_go_anywhere_from_there" in marked
    assert "test_travelling_ahead_of_the_rows_or_back_before_writing_any_is_fine" in marked
    assert request.node.name not in marked  # this test neither travels nor reads the clock
    assert depends_on_the_clock(request.node) is False
