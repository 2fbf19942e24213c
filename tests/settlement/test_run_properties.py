"""Hypothesis properties of the settlement run, against the fee arithmetic of
``apps.settlement.domain.fees`` as the oracle.

- SQL's ``money_round(numeric, text)`` (core migration 0003) rounds as ``round_to_minor`` does,
  for every rounding mode, on exact values with ties, negatives and tiny fractions;
- ``captured_totals`` prices a period's captures in SQL exactly as ``payment_fee`` prices each
  one: its fees are the sum of the charged fees, its exact sum the sum of the exact fees;
- a few random business days of a few merchants (captures of each method at random instants,
  refunds of the day's and earlier days' payments, whole or in part, fee plan lines and terms
  with a rolling reserve, in live and test mode), each settled at its cut-off, keep the books:
  the ledger balances per currency and mode, every line nets exactly, each merchant's accounts
  hold what its settled lines and refunds moved, fee revenue is each run's exact fees rounded
  once, and running the runs again (or beat's settlement_runs_due) changes nothing.

Each example starts from the test's clean state: it runs in a savepoint of the test's
transaction, rolled back at its end (``transaction.savepoint``, not an atomic block: the run's
own durable transactions may nest only in the test's), and builds its state inside a travel to
April 2031 (Sunday 6 to Thursday 10 are business dates).
"""

import decimal
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from uuid import UUID, uuid4

import pytest
import time_machine
from django.db import connection, transaction
from django.db.models import F, Sum
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from apps.core.ids import uuid7
from apps.core.money import Money
from apps.ledger import selectors as ledger_selectors
from apps.ledger.data import AccountRef, AccountRole
from apps.ledger.models import Account, Transfer
from apps.payments import selectors as payments_selectors
from apps.payments.data import CapturePrice
from apps.payments.models import Payment
from apps.settlement import selectors, services
from apps.settlement.domain import calendar as business_calendar
from apps.settlement.domain.fees import (
    ROUNDING_MODES,
    FeeScheduleLine,
    payment_fee,
    refund_fee_return,
    reserve_hold,
    round_to_minor,
)
from apps.settlement.models import (
    ROUNDING_CHOICES,
    FeePlan,
    FeePlanLine,
    MerchantFeePlan,
    SettlementLine,
    SettlementRun,
    SettlementTerms,
)
from tests.factories.merchants import MerchantFactory
from tests.factories.settlement import ACTOR, SUNDAY, captured, refunded

pytestmark = pytest.mark.django_db

METHODS = ("card", "instant", "wire", "wallet")
# The modes a fee plan may choose (the model's choices), all of which the SQL function knows.
PLAN_ROUNDINGS = sorted(mode for mode, _ in ROUNDING_CHOICES)
PERIOD_START = datetime(2031, 4, 1, tzinfo=UTC)
PERIOD_END = datetime(2031, 4, 2, tzinfo=UTC)


def test_the_modes_a_plan_may_choose_are_the_domains():
    assert set(PLAN_ROUNDINGS) <= ROUNDING_MODES


@pytest.fixture
def savepoint():
    """A savepoint per hypothesis example (the test's transaction stays), rolled back after it."""
    def run(body):
        savepoint = transaction.savepoint()
        try:
            return body()
        finally:
            transaction.savepoint_rollback(savepoint)
    return run


# --- money_round in SQL is round_to_minor --------------------------------------------------------

whole = st.integers(min_value=-10**18, max_value=10**18).map(Decimal)
ties = st.integers(min_value=-10**15, max_value=10**15).map(lambda n: Decimal(n) + Decimal("0.5"))
tiny = st.tuples(st.integers(min_value=-10**12, max_value=10**12), st.sampled_from([1, -1]),
                 st.integers(min_value=1, max_value=999)).map(
    lambda parts: Decimal(parts[0]) + parts[1] * Decimal(parts[2]).scaleb(-12))
any_exact = st.decimals(min_value=-10**15, max_value=10**15, places=12, allow_nan=False, allow_infinity=False)
exact_values = st.one_of(whole, ties, tiny, any_exact)


@given(values=st.lists(st.tuples(exact_values, st.sampled_from(sorted(ROUNDING_MODES))), min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_money_round_in_sql_rounds_as_round_to_minor(values):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT money_round(v.exact, v.rounding) FROM unnest(%s::numeric[], %s::text[]) WITH ORDINALITY "
            "AS v(exact, rounding, n) ORDER BY v.n",
            [[str(exact) for exact, _ in values], [rounding for _, rounding in values]])
        in_sql = [row[0] for row in cursor.fetchall()]
    assert in_sql == [round_to_minor(exact, rounding) for exact, rounding in values]


# --- captured_totals prices each capture as payment_fee does --------------------------------------


@st.composite
def fee_lines(draw, *, currency: str = "BHD") -> FeeScheduleLine:
    """A fee plan line: a percentage with up to six decimals (common ones too), a fixed part,
    maybe a minimum and a maximum, one rounding mode."""
    percent = draw(st.one_of(st.sampled_from([Decimal("2.5"), Decimal("0.5"), Decimal("1"), Decimal("0")]),
                             st.decimals(min_value=0, max_value=100, places=6)))
    minimum = draw(st.none() | st.integers(min_value=0, max_value=5_000))
    maximum = draw(st.none() | st.integers(min_value=minimum or 0, max_value=50_000))
    return FeeScheduleLine(currency=currency, percent=percent, fixed=draw(st.integers(min_value=0, max_value=2_000)),
                           minimum=minimum, maximum=maximum, rounding=draw(st.sampled_from(PLAN_ROUNDINGS)))


amounts = st.one_of(st.integers(min_value=1, max_value=500_000), st.integers(min_value=1, max_value=10**16))


def _payment(merchant_id: UUID, livemode: bool, method: str, amount: int, captured_at: datetime) -> Payment:
    return Payment(id=uuid7(), merchant_id=merchant_id, livemode=livemode, amount=amount, currency="BHD",
                   country="BH", method=method, payment_method={"type": method}, priority=5, status="succeeded",
                   amount_authorized=amount, amount_captured=amount, captured_at=captured_at,
                   connector="sandbox_acquirer", created_at=captured_at, updated_at=captured_at)


@given(
    prices=st.lists(st.dictionaries(st.sampled_from(METHODS), fee_lines(), max_size=4), min_size=1, max_size=3),
    captures=st.lists(st.tuples(st.integers(min_value=0, max_value=2), st.booleans(), st.sampled_from(METHODS),
                                amounts, st.integers(min_value=-60, max_value=24 * 3600 + 60)),
                      min_size=1, max_size=25),
)
# A fee of billions of minor units with a percentage of six decimals: dividing by 100 in SQL kept
# only six decimal places there (PostgreSQL chooses a quotient's scale from its size).
@example(prices=[{"card": FeeScheduleLine(currency="BHD", percent=Decimal("99.999999"),
                                          rounding=decimal.ROUND_FLOOR)}],
         captures=[(0, True, "card", 9_000_000_000_001, 60)])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_captured_totals_fees_are_the_sum_of_each_payments_fee(savepoint, prices, captures):
    merchants = [uuid4() for _ in prices]

    def body():
        Payment.objects.bulk_create(
            _payment(merchants[index % len(merchants)], livemode, method, amount,
                     PERIOD_START + timedelta(seconds=second))
            for index, livemode, method, amount, second in captures)
        return payments_selectors.captured_totals(
            currency="BHD", start=PERIOD_START, end=PERIOD_END,
            prices=[CapturePrice(merchant_id=merchant_id, method=method, percent=line.percent, fixed=line.fixed,
                                 minimum=line.minimum, maximum=line.maximum, rounding=line.rounding)
                    for merchant_id, lines in zip(merchants, prices, strict=True) for method, line in lines.items()])

    totals = savepoint(body)

    expected: dict[tuple[UUID, bool], dict[str, object]] = {}
    for index, livemode, method, amount, second in captures:
        if not 0 <= second < 24 * 3600:  # outside [start, end): not the period's
            continue
        merchant = index % len(merchants)
        total = expected.setdefault((merchants[merchant], livemode), {
            "captures": 0, "gross": 0, "fees": 0, "fees_exact": Decimal(0), "unpriced": 0, "methods": set()})
        total["captures"] += 1
        total["gross"] += amount
        line = prices[merchant].get(method)
        if line is None:
            total["unpriced"] += 1
            total["methods"].add(method)
            continue
        fee = payment_fee(line, Money(amount, "BHD"))
        total["fees"] += fee.charged
        total["fees_exact"] += fee.exact
    assert {(t.merchant_id, t.livemode): {
        "captures": t.captures, "gross": t.gross, "fees": t.fees, "fees_exact": t.fees_exact, "unpriced": t.unpriced,
        "methods": set(t.unpriced_methods)} for t in totals} == expected


# --- random business days, settled ---------------------------------------------------------------


@dataclass(frozen=True)
class Capture:
    merchant: int
    livemode: bool
    method: str
    amount: int
    moment: int  # where in its business date's period, in millionths


@dataclass(frozen=True)
class RefundOf:
    pick: int  # which earlier capture (modulo those that can still be refunded)
    share: int  # percent of what is left of it; 100 refunds it all
    moment: int


@dataclass(frozen=True)
class PlanChange:
    method: str
    line: FeeScheduleLine


@dataclass(frozen=True)
class Scenario:
    merchants: int
    days: int
    rounding: str
    refunds_return_percentage: bool
    first_lines: dict[str, FeeScheduleLine]  # the default plan's price of each method from the first date
    changes: tuple[PlanChange, ...]  # the default plan's new prices from the second date
    own_plan: tuple[str, FeeScheduleLine, FeeScheduleLine | None] | None  # merchant 0's: rounding, every method, card
    reserves: tuple[tuple[Decimal, int] | None, ...]  # per merchant: percent held, business days held
    events: tuple[tuple[Capture | RefundOf, ...], ...]  # per business date


moments = st.integers(min_value=0, max_value=999_999)
captures = st.builds(Capture, merchant=st.integers(min_value=0, max_value=2),
                     livemode=st.sampled_from([True, True, True, False]), method=st.sampled_from(METHODS),
                     amount=st.one_of(st.integers(min_value=1, max_value=2_000), st.integers(min_value=1,
                                                                                             max_value=300_000)),
                     moment=moments)
refunds = st.builds(RefundOf, pick=st.integers(min_value=0, max_value=50),
                    share=st.sampled_from([100, 100, 50, 1]) | st.integers(min_value=1, max_value=100), moment=moments)
reserve_terms = st.none() | st.tuples(
    st.sampled_from([Decimal("10"), Decimal("5")]) | st.decimals(min_value=0, max_value=30, places=6),
    st.integers(min_value=1, max_value=2))


@st.composite
def scenarios(draw) -> Scenario:
    merchants, days = draw(st.integers(min_value=1, max_value=3)), draw(st.integers(min_value=1, max_value=3))
    return Scenario(
        merchants=merchants, days=days, rounding=draw(st.sampled_from(PLAN_ROUNDINGS)),
        refunds_return_percentage=draw(st.booleans()),
        first_lines={method: draw(fee_lines()) for method in METHODS},
        changes=tuple(PlanChange(method, draw(fee_lines())) for method in
                      draw(st.sets(st.sampled_from(METHODS), max_size=2 if days > 1 else 0))),
        own_plan=draw(st.none() | st.tuples(st.sampled_from(PLAN_ROUNDINGS), fee_lines(), st.none() | fee_lines())),
        reserves=tuple(draw(reserve_terms) for _ in range(merchants)),
        events=tuple(tuple(draw(st.lists(captures | refunds, max_size=6))) for _ in range(days)),
    )


def _bhd(amount: int) -> Money:
    return Money(amount, "BHD")


@dataclass
class Made:
    """A capture as made, with what was refunded of it so far."""

    merchant_id: UUID
    livemode: bool
    method: str
    amount: int
    business_date: date
    payment: Payment
    refunded: int = 0


@dataclass
class RefundMade:
    of: Made
    amount: int
    before: int
    business_date: date
    from_pending: int
    from_available: int


@dataclass
class Expected:
    """A line as the fee arithmetic prices it."""

    captures: int = 0
    gross: int = 0
    fees_charged: int = 0
    refund_count: int = 0
    refunds: int = 0
    refunds_from_pending: int = 0
    fees_returned: int = 0
    exact: Fraction = field(default_factory=Fraction)


class Books:
    """The scenario's prices and terms as rows, and an oracle pricing its payments from the scenario
    itself (not from the rows, and not through the run's code)."""

    def __init__(self, scenario: Scenario, merchants: list, dates: list[date]) -> None:
        self.scenario, self.merchants, self.dates = scenario, merchants, dates
        default = FeePlan.objects.get(is_default=True)
        FeePlan.objects.filter(pk=default.pk).update(rounding=scenario.rounding,
                                                     refund_returns_percentage=scenario.refunds_return_percentage)
        for method, line in scenario.first_lines.items():
            self._line_create(default, method, line, dates[0])
        for change in scenario.changes:
            self._line_create(default, change.method, change.line, dates[1])
        if scenario.own_plan is not None:
            rounding, every, card = scenario.own_plan
            plan = FeePlan.objects.create(code="own", name="Own", rounding=rounding,
                                          refund_returns_percentage=not scenario.refunds_return_percentage,
                                          created_at=datetime(2031, 1, 1, tzinfo=UTC), created_by="tests")
            self._line_create(plan, "", every, dates[0])
            if card is not None:
                self._line_create(plan, "card", card, dates[0])
            MerchantFeePlan.objects.create(merchant=merchants[0], plan=plan, effective_from=dates[0],
                                           created_at=datetime(2031, 1, 1, tzinfo=UTC), created_by="tests")
        for merchant, reserve in zip(merchants, scenario.reserves, strict=True):
            if reserve is not None:
                SettlementTerms.objects.create(merchant=merchant, currency="BHD", reserve_percent=reserve[0],
                                               reserve_days=reserve[1], payout_minimum=0, effective_from=dates[0],
                                               created_at=datetime(2031, 1, 1, tzinfo=UTC), created_by="tests")

    @staticmethod
    def _line_create(plan: FeePlan, method: str, line: FeeScheduleLine, day: date) -> None:
        FeePlanLine.objects.create(plan=plan, method=method, currency="BHD", percent=line.percent, fixed=line.fixed,
                                   minimum=line.minimum, maximum=line.maximum, effective_from=day,
                                   created_at=datetime(2031, 1, 1, tzinfo=UTC), created_by="tests")

    def price(self, merchant_id: UUID, method: str, day: date) -> FeeScheduleLine:
        """The line pricing ``method`` for the merchant on ``day``, with its plan's rounding."""
        scenario = self.scenario
        if scenario.own_plan is not None and merchant_id == self.merchants[0].pk:
            rounding, every, card = scenario.own_plan
            line = card if method == "card" and card is not None else every
            returns = not scenario.refunds_return_percentage
        else:
            rounding, returns = scenario.rounding, scenario.refunds_return_percentage
            line = scenario.first_lines[method]
            for change in scenario.changes:
                if change.method == method and day >= self.dates[1]:
                    line = change.line
        return FeeScheduleLine(currency="BHD", percent=line.percent, fixed=line.fixed, minimum=line.minimum,
                               maximum=line.maximum, rounding=rounding, refund_returns_percentage=returns)

    def reserve(self, merchant_id: UUID) -> tuple[Decimal, int] | None:
        index = next(n for n, merchant in enumerate(self.merchants) if merchant.pk == merchant_id)
        return self.scenario.reserves[index]

    def expected_lines(self, made: list[Made], refunds: list[RefundMade], day: date) -> dict[tuple, Expected]:
        lines: dict[tuple[UUID, bool], Expected] = defaultdict(Expected)
        for capture in made:
            if capture.business_date == day:
                line = lines[capture.merchant_id, capture.livemode]
                fee = payment_fee(self.price(capture.merchant_id, capture.method, day), _bhd(capture.amount))
                line.captures += 1
                line.gross += capture.amount
                line.fees_charged += fee.charged
                line.exact += Fraction(fee.exact)
        for refund in refunds:
            if refund.business_date == day:
                of = refund.of
                price = self.price(of.merchant_id, of.method, of.business_date)
                returned = refund_fee_return(price, _bhd(refund.amount), _bhd(of.amount),
                                             payment_fee(price, _bhd(of.amount)), already_refunded=_bhd(refund.before))
                line = lines[of.merchant_id, of.livemode]
                line.refund_count += 1
                line.refunds += refund.amount
                line.refunds_from_pending += refund.from_pending
                line.fees_returned += returned.returned
                line.exact -= returned.exact
        return lines


def _balance(role: AccountRole, livemode: bool, merchant_id: UUID | None = None) -> ledger_selectors.Balances:
    return ledger_selectors.role_account_balances(ref=AccountRef(role, "BHD", livemode, merchant_id=merchant_id))


def _refundable(made: list[Made]) -> list[Made]:
    # A wallet payment's refund credits the customer's wallet, which these captures do not have.
    return [capture for capture in made if capture.method != "wallet" and capture.refunded < capture.amount]


def _ledger_snapshot() -> tuple[int, list[tuple]]:
    return Transfer.objects.count(), list(Account.objects.order_by("id").values_list(
        "id", "debits_pending", "debits_posted", "credits_pending", "credits_posted"))


def _books_hold(books: Books, made: list[Made], refunds: list[RefundMade], runs: list[SettlementRun],
                exact_of: dict[tuple[date, UUID, bool], Fraction]) -> None:
    """What must hold after every run (see the module)."""
    assert ledger_selectors.ledger_verify().ok
    for row in Account.objects.values("currency", "livemode").annotate(
            debits=Sum("debits_posted"), credits=Sum("credits_posted"), debits_pending=Sum("debits_pending"),
            credits_pending=Sum("credits_pending")):
        assert (row["debits"], row["debits_pending"]) == (row["credits"], row["credits_pending"]), row

    lines = list(SettlementLine.objects.select_related("settled_in"))
    assert all(line.status != SettlementLine.Status.COMPUTED for line in lines)
    for line in lines:
        assert line.net == line.gross - line.refunds - line.fees - line.reserve_held + line.reserve_released
        assert line.fees == line.fees_charged - line.fees_returned
    settled = [line for line in lines if line.status == SettlementLine.Status.SETTLED]
    for merchant in books.merchants:
        for livemode in (True, False):
            mine = [line for line in settled if line.merchant_id == merchant.pk and line.livemode == livemode]
            their_refunds = [r for r in refunds if r.of.merchant_id == merchant.pk and r.of.livemode == livemode]
            # Available holds the settled nets, less what refunds took from it that no settled line
            # has netted yet (a line's legs pay back into available the refunds it nets from there).
            assert _balance(AccountRole.MERCHANT_AVAILABLE, livemode, merchant.pk).posted == (
                sum(line.net + line.refunds - line.refunds_from_pending for line in mine)
                - sum(r.from_available for r in their_refunds))
            assert _balance(AccountRole.MERCHANT_PENDING, livemode, merchant.pk).posted == (
                sum(c.amount for c in made if c.merchant_id == merchant.pk and c.livemode == livemode)
                - sum(r.from_pending for r in their_refunds)
                - sum(line.gross - line.refunds_from_pending for line in mine))
            assert _balance(AccountRole.MERCHANT_RESERVE, livemode, merchant.pk).posted == (
                sum(line.reserve_held - line.reserve_released for line in mine))
            # Every reserve held is released once: what settled lines released is what the lines
            # they release had held (a reserve is given to its releasing line when that line is
            # computed, and leaves the reserve account when it settles).
            settled_ids = {line.pk for line in mine}
            released = [line for line in lines if line.released_by_id in settled_ids]
            assert sum(line.reserve_released for line in mine) == sum(line.reserve_held for line in released)
    for livemode in (True, False):
        # Fee revenue is, run by run, the exact fees of the lines it settled rounded once.
        rounded = 0
        for run in runs:
            exact = sum((exact_of[line.business_date, line.merchant_id, line.livemode] for line in settled
                         if line.settled_in_id == run.pk and line.livemode == livemode), Fraction(0))
            rounded += round_to_minor(exact, decimal.ROUND_HALF_EVEN)
        fee_revenue = _balance(AccountRole.FEE_REVENUE, livemode).posted
        assert fee_revenue == rounded
        assert fee_revenue + _balance(AccountRole.ROUNDING, livemode).posted == sum(
            line.fees for line in settled if line.livemode == livemode)


def _settle_scenario(scenario: Scenario) -> None:
    calendar = selectors.calendar_get("BHD")
    dates = [SUNDAY]
    while len(dates) < scenario.days:
        dates.append(business_calendar.next_business_date(calendar, dates[-1]))
    first_start, _ = business_calendar.business_date_period(calendar, dates[0])
    with time_machine.travel(first_start - timedelta(hours=1), tick=False) as traveller:
        merchants = [MerchantFactory() for _ in range(scenario.merchants)]
        books = Books(scenario, merchants, dates)
        made: list[Made] = []
        refunds: list[RefundMade] = []
        runs: list[SettlementRun] = []
        exact_of: dict[tuple[date, UUID, bool], Fraction] = {}
        for day, events in zip(dates, scenario.events, strict=True):
            start, end = business_calendar.business_date_period(calendar, day)
            span = end - start
            for happening in sorted(events, key=lambda happening: happening.moment):
                at = start + span * happening.moment / 1_000_000
                traveller.move_to(at)
                if isinstance(happening, Capture):
                    merchant = merchants[happening.merchant % len(merchants)]
                    payment = captured(merchant, happening.amount, at=at, method=happening.method,
                                       livemode=happening.livemode)
                    made.append(Made(merchant.pk, happening.livemode, happening.method, happening.amount, day, payment))
                    continue
                candidates = _refundable(made)
                if not candidates:
                    continue
                of = candidates[happening.pick % len(candidates)]
                pending = max(_balance(AccountRole.MERCHANT_PENDING, of.livemode, of.merchant_id).available, 0)
                available = max(_balance(AccountRole.MERCHANT_AVAILABLE, of.livemode, of.merchant_id).available, 0)
                left = of.amount - of.refunded
                # As the API would refuse a refund the merchant's balances do not cover, none is made.
                amount = min(max(1, left * happening.share // 100), pending + available)
                if amount <= 0:
                    continue
                of.payment.refresh_from_db()
                refund = refunded(of.payment, amount, at=at)
                holds = dict(Transfer.objects.filter(pk__in=[refund.pending_hold_id, refund.available_hold_id])
                             .values_list("pk", "amount"))
                refunds.append(RefundMade(of, amount, of.refunded, day, holds.get(refund.pending_hold_id, 0),
                                          holds.get(refund.available_hold_id, 0)))
                of.refunded += amount

            # Settled at the cut-off, before anything of the next business date happens.
            traveller.move_to(end + timedelta(seconds=1))
            released = {(row["merchant_id"], row["livemode"]): row["held"] for row in SettlementLine.objects.filter(
                status=SettlementLine.Status.SETTLED, reserve_held__gt=0, released_by__isnull=True,
                reserve_release_on__lte=day).values("merchant_id", "livemode").annotate(held=Sum("reserve_held"))}
            run = services.settlement_run(business_date=day, currency="BHD", actor=ACTOR)
            assert run.status == SettlementRun.Status.COMPLETED
            runs.append(run)

            expected = books.expected_lines(made, refunds, day)
            for key in released:
                expected.setdefault(key, Expected())
            found = {(line.merchant_id, line.livemode): line for line in SettlementLine.objects.filter(run=run)}
            assert found.keys() == expected.keys()
            for key, line in found.items():
                want = expected[key]
                exact_of[day, *key] = want.exact
                net_before_reserve = want.gross - want.refunds - (want.fees_charged - want.fees_returned)
                reserve = books.reserve(key[0])
                held = reserve_hold(_bhd(net_before_reserve), reserve[0]).held if reserve else 0
                assert (line.captures, line.gross, line.fees_charged, line.refund_count, line.refunds,
                        line.refunds_from_pending, line.fees_returned, line.reserve_held, line.reserve_released) == (
                    want.captures, want.gross, want.fees_charged, want.refund_count, want.refunds,
                    want.refunds_from_pending, want.fees_returned, held, released.get(key, 0))
                # Kept to 12 decimal places (a pro rata return need not terminate).
                assert abs(Fraction(line.fees_exact) - want.exact) <= Fraction(1, 10**12)
            _books_hold(books, made, refunds, runs, exact_of)

        lines = list(SettlementLine.objects.all())
        for what, happened in (
                ("a line carried", any(line.status == SettlementLine.Status.CARRIED for line in lines)),
                ("a carried line settled later", any(line.settled_in_id not in (None, line.run_id) for line in lines)),
                ("reserve held", any(line.reserve_held for line in lines)),
                ("reserve released", any(line.released_by_id for line in lines)),
                ("a refund from available", any(refund.from_available for refund in refunds)),
                ("a fee taken from available", Transfer.objects.filter(code="settlement_fee_from_available").exists()),
                ("fees returned exceed the charges", any(line.fees < 0 for line in lines)),
                ("a rounding difference", any(run.fee_rounding_difference for run in SettlementRun.objects.all()))):
            if happened:
                event(what)

        # The same runs again, and beat's sweep, post nothing and change no balance.
        before = _ledger_snapshot()
        for day in dates:
            again = services.settlement_run(business_date=day, currency="BHD", actor=ACTOR)
            assert again.status == SettlementRun.Status.COMPLETED
        services.settlement_runs_due(actor=ACTOR)
        assert _ledger_snapshot() == before
        assert SettlementRun.objects.filter(attempts__gt=1).count() == 0
        assert not SettlementLine.objects.filter(released_by__isnull=False).exclude(
            reserve_release_on__lte=F("released_by__business_date")).exists()


# No explain phase: each example settles whole business days, and explaining re-runs hundreds.
@given(scenario=scenarios())
@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
def test_random_business_days_settle_to_balanced_books(savepoint, scenario):
    savepoint(lambda: _settle_scenario(scenario))
