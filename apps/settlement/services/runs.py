"""End-of-day settlement: one run per business date and currency, which nets each merchant's
captures, refunds, fees and reserve of the date and moves the money in the ledger.

A run goes in three steps, each in its own transactions, so a crash anywhere loses nothing and
a restart finishes the work:

1. **Compute** (one transaction): one aggregate query prices and sums the date's captures per
   merchant and mode where they are; refunds, fee returns, the reserve held and the reserve
   falling due are added, and one ``SettlementLine`` per merchant and mode is written
   (``computed``). A run that has its lines skips this step.
2. **Settle**, a chunk of lines per transaction, in merchant order: each line's legs
   (:mod:`apps.settlement.domain.postings`) are one linked chain in the chunk's one ledger batch;
   the line turns ``settled`` (or ``carried``, when its chain was refused: pending does not hold
   the money yet) in the same transaction. Lines carried by earlier runs are tried again first.
   Every transfer's client id is derived from its line, so no replay can post twice.
3. **Finish** (one transaction): the difference between the fees posted (each rounded once) and
   their exact total rounded once is posted between fee revenue and rounding differences, the
   run's totals are written and it turns ``completed``.

Only one process runs a run at a time (a PostgreSQL advisory lock held for the run); a second
one starting it returns at once. A run that raises turns ``failed``, with the reason, an audit
event and a dashboard alert; running it again resumes it.
"""

import zlib
from collections import defaultdict
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, Sum

from apps.audit.services import audit_record
from apps.core import clock, faults, ids
from apps.core.actors import Actor
from apps.core.locks import session_lock
from apps.core.money import Money
from apps.ledger import data as ledger_data
from apps.ledger import selectors as ledger_selectors
from apps.ledger import services as ledger_services
from apps.ledger.data import AccountRef, AccountRole
from apps.merchants import selectors as merchants_selectors
from apps.payments import selectors as payments_selectors
from apps.payments import services as payments_services
from apps.payments.data import CapturePrice, SucceededRefund
from apps.payments.exceptions import NoPayoutBankAccount
from apps.settlement import selectors
from apps.settlement.domain import calendar as business_calendar
from apps.settlement.domain import fees
from apps.settlement.domain.postings import Account, line_legs
from apps.settlement.exceptions import BusinessDateNotClosed, NotABusinessDate, SettlementUnpriced
from apps.settlement.models import SettlementLine, SettlementRun

CREATED_BY = "settlement"
ACTOR = Actor.system(CREATED_BY)
_ROLES = {
    Account.PENDING: AccountRole.MERCHANT_PENDING,
    Account.AVAILABLE: AccountRole.MERCHANT_AVAILABLE,
    Account.RESERVE: AccountRole.MERCHANT_RESERVE,
    Account.FEE_REVENUE: AccountRole.FEE_REVENUE,
}


def run_public_id(run: SettlementRun) -> str:
    return ids.encode("sr", run.pk)


def line_public_id(line: SettlementLine) -> str:
    return ids.encode("stl", line.pk)


# --- the run ---------------------------------------------------------------------------------------


def settlement_run(*, business_date: date, currency: str, actor: Actor) -> SettlementRun:
    """Run, or resume, the settlement of ``business_date`` in ``currency``; return the run.

    Invariants: one run per date and currency (a database constraint); each merchant line posted
    by exactly one chain of transfers, whatever crashes and restarts happen; each currency's
    books balanced to the minor unit (every rounding difference posted). A completed run is
    returned as it is; a run another process holds is returned as it stands.

    Raises UnknownCalendar; NotABusinessDate; BusinessDateNotClosed (before its cut-off or early
    closure); SettlementUnpriced (captures of a method no fee plan prices: the run fails, nothing
    is posted). Any other failure marks the run failed and is raised again.
    """
    calendar = selectors.calendar_get(currency)
    currency = currency.upper()
    if not business_calendar.is_business_day(calendar, business_date):
        raise NotABusinessDate(f"{business_date:%Y-%m-%d} is not a business date in {currency}.")
    start, end = business_calendar.business_date_period(calendar, business_date)
    if clock.now() < end:
        raise BusinessDateNotClosed(
            f"{currency}'s business date {business_date:%Y-%m-%d} closes at {end.isoformat()}: it is settled after "
            "that (or close it early with --close-now).")
    run = _run_get_or_create(business_date=business_date, currency=currency, start=start, end=end, actor=actor)
    if run.status == SettlementRun.Status.COMPLETED:
        return run
    with _run_lock(run) as held:
        if not held:
            return run
        try:
            run = _run_start(run, actor)
            if not run.lines.exists():
                _lines_compute(run, calendar)
            faults.crash_point("settlement.before_chunk")
            while _chunk_settle(run):
                faults.crash_point("settlement.after_chunk")
            _run_finish(run, actor)
        except Exception as error:  # every failure is the run's: recorded, alerted, raised again
            _run_fail(run, error, actor)
            raise
    return SettlementRun.objects.get(pk=run.pk)


def _run_get_or_create(*, business_date: date, currency: str, start, end, actor: Actor) -> SettlementRun:
    now = clock.now()
    run, _ = SettlementRun.objects.get_or_create(
        business_date=business_date, currency=currency,
        defaults={"period_start": start, "period_end": end, "started_by": actor.label, "started_at": now,
                  "updated_at": now},
    )
    return run


def _run_lock(run: SettlementRun) -> AbstractContextManager[bool]:
    """The run's advisory lock for this connection's session, if no other process holds it. A
    process that dies releases it with its connection."""
    return session_lock(_LOCK_CLASS << 32 | zlib.crc32(run.pk.bytes))


_LOCK_CLASS = 7310  # settlement's namespace of advisory locks (the key's high 32 bits)


def _run_start(run: SettlementRun, actor: Actor) -> SettlementRun:
    with transaction.atomic(durable=True):
        run = SettlementRun.objects.select_for_update().get(pk=run.pk)
        resumed = run.attempts > 0
        run.attempts += 1
        run.status, run.failure, run.updated_at = SettlementRun.Status.RUNNING, "", clock.now()
        run.save(update_fields=["attempts", "status", "failure", "updated_at"])
        audit_record(actor=actor, action="settlement.run_resumed" if resumed else "settlement.run_started",
                     object_type="settlement.settlementrun", object_id=run_public_id(run),
                     after={"business_date": run.business_date.isoformat(), "currency": run.currency,
                            "attempt": run.attempts})
    return run


def _run_fail(run: SettlementRun, error: Exception, actor: Actor) -> None:
    failure = getattr(error, "detail", None) or f"{type(error).__name__}: {error}"
    with transaction.atomic(durable=True):
        SettlementRun.objects.filter(pk=run.pk).update(status=SettlementRun.Status.FAILED, failure=failure[:2000],
                                                       updated_at=clock.now())
        audit_record(actor=actor, action="settlement.run_failed", object_type="settlement.settlementrun",
                     object_id=run_public_id(run), after={"business_date": run.business_date.isoformat(),
                                                          "currency": run.currency, "failure": failure[:2000]})


# --- step 1: compute the lines -----------------------------------------------------------------


@dataclass
class _Figures:
    captures: int = 0
    gross: int = 0
    fees_charged: int = 0
    fees_exact: Decimal = Decimal(0)
    refund_count: int = 0
    refunds: int = 0
    refunds_from_pending: int = 0
    fees_returned: int = 0
    reserve_released: int = 0


def _lines_compute(run: SettlementRun, calendar: business_calendar.Calendar) -> None:
    """Write the run's lines: one per merchant and mode with captures, refunds or reserve falling
    due on the date. Raises SettlementUnpriced."""
    day, currency = run.business_date, run.currency
    with transaction.atomic(durable=True):
        # One aggregate over a whole business date: bounded by the task's time limit, not by the
        # connection's statement timeout (a day of millions of captures takes longer than it).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
        merchant_ids = merchants_selectors.merchant_ids_in_currency(currency=currency)
        schedules = selectors.fee_schedules(merchant_ids=merchant_ids, currency=currency, business_date=day)
        figures: dict[tuple[UUID, bool], _Figures] = defaultdict(_Figures)
        for total in payments_selectors.captured_totals(currency=currency, start=run.period_start,
                                                        end=run.period_end, prices=_prices(schedules)):
            if total.unpriced:
                raise SettlementUnpriced(
                    f"Merchant {ids.encode('mer', total.merchant_id)} has {total.unpriced} captures paid by "
                    f"{', '.join(total.unpriced_methods)} in {currency}, which no fee plan prices on {day}.")
            line = figures[total.merchant_id, total.livemode]
            line.captures, line.gross = total.captures, total.gross
            line.fees_charged, line.fees_exact = total.fees, total.fees_exact
        refunds = payments_selectors.refunds_succeeded(currency=currency, start=run.period_start, end=run.period_end)
        _refunds_add(figures, refunds, calendar, currency)
        due = _reserve_due(currency=currency, business_date=day)
        for key, held in due.items():
            figures[key].reserve_released = sum(amount for _, amount in held)
        terms = selectors.settlement_terms(merchant_ids={merchant for merchant, _ in figures}, currency=currency,
                                           business_date=day)
        release_dates = _release_dates(calendar, day, max((t.reserve_days for t in terms.values()), default=0))
        now = clock.now()
        lines = [_line(run, merchant_id, livemode, figures[merchant_id, livemode], terms[merchant_id],
                       schedules.get(merchant_id, {}), release_dates, now)
                 for merchant_id, livemode in sorted(figures, key=lambda key: (key[0], key[1]))]
        SettlementLine.objects.bulk_create(lines, batch_size=1000)
        # Each reserve falling due belongs to the line that releases it from now on, settled or
        # carried: no later line counts it due again.
        for line in lines:
            if held := due.get((line.merchant_id, line.livemode)):
                SettlementLine.objects.filter(pk__in=[pk for pk, _ in held]).update(released_by=line)
        SettlementRun.objects.filter(pk=run.pk).update(merchants=len(lines), updated_at=now)


def _prices(schedules: dict[UUID, dict[str, selectors.PricedMethod]]) -> list[CapturePrice]:
    return [CapturePrice(merchant_id=merchant_id, method=method, percent=priced.schedule.percent,
                         fixed=priced.schedule.fixed, minimum=priced.schedule.minimum,
                         maximum=priced.schedule.maximum, rounding=priced.schedule.rounding)
            for merchant_id, methods in schedules.items() for method, priced in methods.items()]


def _refunds_add(figures: dict[tuple[UUID, bool], _Figures], refunds: list[SucceededRefund],
                 calendar: business_calendar.Calendar, currency: str) -> None:
    """Add each refund, and the fee it returns (priced as its payment was: see
    ``selectors.refund_fee_returns``, which the line's report reads too)."""
    returns = selectors.refund_fee_returns(refunds=refunds, currency=currency, calendar=calendar)
    for refund in refunds:
        line = figures[refund.merchant_id, refund.livemode]
        line.refund_count += 1
        line.refunds += refund.amount
        line.refunds_from_pending += refund.from_pending
        returned = returns[refund.refund_id]
        line.fees_returned += returned.returned
        line.fees_exact -= returned.exact_decimal


def _reserve_due(*, currency: str, business_date: date) -> dict[tuple[UUID, bool], list[tuple[UUID, int]]]:
    """Reserve held by settled lines, falling due on or before ``business_date`` and not yet given to
    a line that releases it: per merchant and mode, each holding line and its amount."""
    due: dict[tuple[UUID, bool], list[tuple[UUID, int]]] = defaultdict(list)
    for pk, merchant_id, livemode, held in SettlementLine.objects.filter(
            currency=currency, reserve_held__gt=0, released_by__isnull=True, status=SettlementLine.Status.SETTLED,
            reserve_release_on__lte=business_date).values_list("pk", "merchant_id", "livemode", "reserve_held"):
        due[merchant_id, livemode].append((pk, held))
    return due


def _release_dates(calendar: business_calendar.Calendar, day: date, days: int) -> list[date]:
    """``day`` and enough business dates after it to place the longest reserve's release."""
    dates = [day]
    while len(dates) <= days:
        dates.append(business_calendar.next_business_date(calendar, dates[-1]))
    return dates


def _line(run: SettlementRun, merchant_id: UUID, livemode: bool, figures: _Figures, terms: selectors.Terms,
          schedule: dict[str, selectors.PricedMethod], release_dates: list[date], now) -> SettlementLine:
    currency = run.currency
    amounts = {"gross": Money(figures.gross, currency), "refunds": Money(figures.refunds, currency),
               "fees_charged": Money(figures.fees_charged, currency),
               "fees_returned": Money(figures.fees_returned, currency)}
    before_reserve = fees.merchant_day_net(**amounts, reserve_held=Money(0, currency),
                                           reserve_released=Money(0, currency)).net
    held = (fees.reserve_hold(Money(before_reserve, currency), terms.reserve_percent).held
            if terms.reserve_percent else 0)
    release_on = (fees.reserve_release(run.business_date, held, hold_days=terms.reserve_days,
                                       business_dates=release_dates).release_date if held else None)
    net = fees.merchant_day_net(**amounts, reserve_held=Money(held, currency),
                                reserve_released=Money(figures.reserve_released, currency))
    return SettlementLine(
        run=run, merchant_id=merchant_id, livemode=livemode, business_date=run.business_date, currency=currency,
        captures=figures.captures, gross=figures.gross, refund_count=figures.refund_count, refunds=figures.refunds,
        refunds_from_pending=figures.refunds_from_pending, fees_charged=figures.fees_charged,
        fees_returned=figures.fees_returned, fees=net.fees, fees_exact=figures.fees_exact, reserve_held=held,
        reserve_release_on=release_on, reserve_released=figures.reserve_released, net=net.net,
        fee_schedule={method: priced.as_record() for method, priced in sorted(schedule.items())}, created_at=now,
    )


# --- step 2: settle, a chunk at a time --------------------------------------------------------------


def _chunk_settle(run: SettlementRun) -> bool:
    """Post the next chunk of the run's lines still to settle, with the lines earlier runs carried.
    A merchant's lines of one mode settle together, as one chain netting their figures: a refund
    that took an earlier date's money from pending is paid by that date's captures. Returns False
    when none was left."""
    with transaction.atomic(durable=True):
        to_settle = (SettlementLine.objects.select_for_update(skip_locked=True)
                     .filter(Q(run=run, status=SettlementLine.Status.COMPUTED)
                             | Q(currency=run.currency, status=SettlementLine.Status.CARRIED,
                                 business_date__lt=run.business_date) & ~Q(last_tried_in=run))
                     .order_by("merchant_id", "livemode", "business_date"))
        lines = list(to_settle[:settings.FINCORE_SETTLEMENT_CHUNK_LINES])
        if not lines:
            return False
        # A chunk ends with a merchant's last line, so its lines are never split between chunks.
        lines += list(to_settle.filter(merchant_id=lines[-1].merchant_id).exclude(pk__in=[line.pk for line in lines]))
        groups: dict[tuple[UUID, bool], list[SettlementLine]] = defaultdict(list)
        for line in lines:
            groups[line.merchant_id, line.livemode].append(line)
        terms = selectors.settlement_terms(merchant_ids={line.merchant_id for line in lines}, currency=run.currency,
                                           business_date=run.business_date)
        chains = {key: _chain(group) for key, group in groups.items()}
        specs = [spec for chain in chains.values() if chain for spec in chain]
        faults.crash_point("settlement.before_post")
        results = iter(ledger_services.transfers_batch(specs=specs, atomic=False) if specs else [])
        now = clock.now()
        for key, group in groups.items():
            chain = chains[key]
            items = [next(results) for _ in chain or ()]
            refusal = next((item.refusal for item in items if item.refusal and item.result != "linked_event_failed"),
                           None)
            if chain is None or refusal is not None:
                reason = refusal.detail if refusal is not None else "pending holds less than the reserve to hold"
                for line in group:
                    line.status, line.carried_note, line.last_tried_in = (SettlementLine.Status.CARRIED, reason[:500],
                                                                          run)
                continue
            for line in group:
                line.status, line.settled_in, line.settled_at = SettlementLine.Status.SETTLED, run, now
                line.last_tried_in, line.carried_note = run, ""
            newest = group[-1]
            _payout(newest, terms[newest.merchant_id].payout_minimum)
            for line in group[:-1]:
                line.payout_note = f"Settled with {line_public_id(newest)}"
        SettlementLine.objects.bulk_update(lines, ["status", "settled_in", "settled_at", "last_tried_in",
                                                   "carried_note", "payout_id", "payout_note"])
        faults.crash_point("settlement.after_post")
        SettlementRun.objects.filter(pk=run.pk).update(
            merchants_settled=SettlementLine.objects.filter(run=run).exclude(status=SettlementLine.Status.COMPUTED)
            .count(), updated_at=now)
    return True


def _payout(line: SettlementLine, minimum: int) -> None:
    """Pay the merchant's available balance out, now that the line is in it, if it reaches the
    payout minimum (in the chunk's transaction: the payout exists exactly when the line is settled).
    Test money is never paid out to a bank."""
    if not line.livemode:
        line.payout_note = "Test mode: no payout"
        return
    available = ledger_selectors.role_account_balances(
        ref=AccountRef(AccountRole.MERCHANT_AVAILABLE, line.currency, True, merchant_id=line.merchant_id)).available
    if available <= 0 or available < minimum:
        line.payout_note = f"Available {Money(available, line.currency)} is below the payout minimum"[:200]
        return
    try:
        payout = payments_services.payout_create(merchant_id=line.merchant_id, livemode=True, currency=line.currency,
                                                 amount=available, settlement_reference=line_public_id(line),
                                                 actor=ACTOR)
    except NoPayoutBankAccount:
        line.payout_note = f"No bank account for {line.currency} payouts"
        return
    line.payout_id = payout.pk


def _chain(group: list[SettlementLine]) -> list[ledger_data.TransferSpec] | None:
    """The linked chain settling a merchant's lines of one mode (usually one), their figures
    netted, named by the newest line; None when pending cannot fund their reserve."""
    legs = line_legs(gross=sum(line.gross for line in group),
                     refunds_from_pending=sum(line.refunds_from_pending for line in group),
                     fees=sum(line.fees for line in group), reserve_held=sum(line.reserve_held for line in group),
                     reserve_released=sum(line.reserve_released for line in group))
    if legs is None:
        return None
    newest = group[-1]
    public_id = line_public_id(newest)
    lines = [line_public_id(line) for line in group]
    return [ledger_data.TransferSpec(
        client_id=f"{ledger_data.RESERVED_CLIENT_ID_PREFIX}{public_id}:{leg.step}",
        debit_account_ref=_account(newest, leg.debit), credit_account_ref=_account(newest, leg.credit),
        amount=leg.amount, currency=newest.currency, merchant_id=newest.merchant_id, livemode=newest.livemode,
        code=f"settlement_{leg.step}", reference=public_id, created_by=CREATED_BY,
        metadata={"business_date": newest.business_date.isoformat(), "lines": lines}, linked=index < len(legs) - 1,
    ) for index, leg in enumerate(legs)]


def _account(line: SettlementLine, account: Account) -> AccountRef:
    role = _ROLES[account]
    merchant_id = line.merchant_id if role is not AccountRole.FEE_REVENUE else None
    return AccountRef(role, line.currency, line.livemode, merchant_id=merchant_id)


# --- step 3: finish ---------------------------------------------------------------------------------


def _run_finish(run: SettlementRun, actor: Actor) -> None:
    """Post the fee rounding difference of the lines this run settled, per mode, and total the run."""
    with transaction.atomic(durable=True):
        run = SettlementRun.objects.select_for_update().get(pk=run.pk)
        differences = 0
        settled = SettlementLine.objects.filter(settled_in=run)
        for livemode, posted, exact in (settled.values_list("livemode").annotate(Sum("fees"), Sum("fees_exact"))
                                        .order_by("livemode")):
            difference = fees.rounding_difference(posted, exact)
            differences += difference
            if difference:
                _rounding_post(run, livemode, difference)
        totals = run.lines.aggregate(gross=Sum("gross"), refunds=Sum("refunds"), fees=Sum("fees"),
                                     reserve_held=Sum("reserve_held"), reserve_released=Sum("reserve_released"),
                                     net=Sum("net"))
        for field, value in totals.items():
            setattr(run, field, value or 0)
        run.fee_rounding_difference = differences
        run.status, run.finished_at = SettlementRun.Status.COMPLETED, clock.now()
        run.updated_at = run.finished_at
        run.merchants_settled = run.merchants
        run.save()
        audit_record(actor=actor, action="settlement.run_completed", object_type="settlement.settlementrun",
                     object_id=run_public_id(run), after=run_summary(run))


def _rounding_post(run: SettlementRun, livemode: bool, difference: int) -> None:
    """Fee revenue shows the exact fees rounded once; what rounding each fee gained or lost is in
    rounding differences."""
    fee_revenue = AccountRef(AccountRole.FEE_REVENUE, run.currency, livemode)
    rounding = AccountRef(AccountRole.ROUNDING, run.currency, livemode)
    debit, credit = (rounding, fee_revenue) if difference > 0 else (fee_revenue, rounding)
    mode = "live" if livemode else "test"
    ledger_services.transfer_create(spec=ledger_data.TransferSpec(
        client_id=f"{ledger_data.RESERVED_CLIENT_ID_PREFIX}{run_public_id(run)}:rounding:{mode}",
        debit_account_ref=debit, credit_account_ref=credit, amount=abs(difference), currency=run.currency,
        livemode=livemode, code="settlement_rounding", reference=run_public_id(run), created_by=CREATED_BY,
    ))


def run_summary(run: SettlementRun) -> dict[str, object]:
    """What ``settlement_run --json`` prints and the journal keeps: amounts in minor units."""
    return {"run_id": run_public_id(run), "business_date": run.business_date.isoformat(), "currency": run.currency,
            "status": run.status, "merchants": run.merchants, "gross": run.gross, "fees": run.fees,
            "refunds": run.refunds, "reserve_held": run.reserve_held, "reserve_released": run.reserve_released,
            "net": run.net}


def settlement_runs_due(*, actor: Actor) -> list[SettlementRun]:
    """Run each currency's last closed business date, if not completed yet (beat calls it every few
    minutes: a run starts within minutes of the cut-off, or of an early closure)."""
    runs = []
    for currency in selectors.calendar_currencies():
        day = selectors.last_closed_business_date(currency=currency)
        existing = SettlementRun.objects.filter(business_date=day, currency=currency).first()
        # A failed run waits for a person (it alerted); one left running by a dead worker resumes.
        if existing is None or existing.status == SettlementRun.Status.RUNNING:
            runs.append(settlement_run(business_date=day, currency=currency, actor=actor))
    return runs
