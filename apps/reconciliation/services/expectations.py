"""Expectations: what fincore expects to see on its nostros' statements, created where the money
moves and marked missing when the bank has not shown it by its SLA.

Four sources make them (``source`` + ``source_id`` is unique, so each is made once however often
it is asked):

* **payouts** sent in a payment file (pain.001): money out, minus its amount, on the file's execution date
  (the business date the payout left in), with the payout's end-to-end id and remittance;
* **connector settlements**: per connector, currency and closed business date, the captures less
  the succeeded refunds, expected on the next business date into the currency's payout nostro under
  the batch id ``{connector}-{YYYYMMDD}``;
* **sweeps** between nostros once sent: two, the money leaving the paying nostro and arriving at
  the receiving one, on the sweep's execution date with its end-to-end id;
* **staff**, who declare one by hand with a reason (journaled).

States: ``unreconciled → partially_reconciled → reconciled`` as matched lines settle it (the
matcher writes those), and ``unreconciled | partially_reconciled → missing`` here once
``missing_after`` passes. A missing expectation matched later still becomes ``reconciled``.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.audit.services import audit_record
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.core.exceptions import FincoreError
from apps.payments import selectors as payments_selectors
from apps.reconciliation.models import Expectation, ExpectationSource, ExpectationState
from apps.settlement import selectors as settlement_selectors
from apps.treasury.selectors import nostros as treasury_selectors
from apps.treasury.selectors import sweeps as treasury_sweep_selectors
from apps.treasury.services import sweeps as treasury_sweeps

SYSTEM = Actor.system("reconciliation.expectations")
# What the matcher and the missing sweep may do: the documented state machine.
TRANSITIONS: dict[str, frozenset[str]] = {
    ExpectationState.UNRECONCILED: frozenset({ExpectationState.PARTIALLY_RECONCILED, ExpectationState.RECONCILED,
                                              ExpectationState.MISSING}),
    ExpectationState.PARTIALLY_RECONCILED: frozenset({ExpectationState.RECONCILED, ExpectationState.MISSING}),
    # Matched after its SLA: the bank was late, not wrong.
    ExpectationState.MISSING: frozenset({ExpectationState.PARTIALLY_RECONCILED, ExpectationState.RECONCILED}),
    ExpectationState.RECONCILED: frozenset(),
}
OPEN_STATES = (ExpectationState.UNRECONCILED, ExpectationState.PARTIALLY_RECONCILED)
# A staff declaration's tolerance in days is at most this (a wider window matches anything).
MAX_DATE_TOLERANCE_DAYS = 10
# Sent payouts are looked for this far back by the sweep behind the outbox event.
PAYOUT_SWEEP_LOOKBACK = timedelta(days=3)
# Closed business dates a run of the connector settlements looks back over (a missed run catches up).
SETTLEMENT_LOOKBACK_DATES = 3


@dataclass(frozen=True, slots=True)
class Terms:
    """How an expectation of one source matches and when it is missing."""

    date_tolerance_days: int  # a line booked this many days either side still matches
    amount_tolerance: int  # minor units
    missing_after_business_days: int  # missing once this many business dates past its date have closed


DEFAULT_TERMS = {
    ExpectationSource.PAYOUT: Terms(date_tolerance_days=1, amount_tolerance=0, missing_after_business_days=2),
    ExpectationSource.CONNECTOR_SETTLEMENT: Terms(date_tolerance_days=1, amount_tolerance=0,
                                                  missing_after_business_days=2),
    ExpectationSource.SWEEP: Terms(date_tolerance_days=1, amount_tolerance=0, missing_after_business_days=2),
    ExpectationSource.STAFF: Terms(date_tolerance_days=0, amount_tolerance=0, missing_after_business_days=2),
}


def terms_for(source: str) -> Terms:
    """The source's terms: ``settings.RECONCILIATION_EXPECTATION_TERMS[source]`` (a dict of
    :class:`Terms`' fields) over the defaults."""
    overrides = getattr(settings, "RECONCILIATION_EXPECTATION_TERMS", {}).get(str(source), {})
    default = DEFAULT_TERMS[source]
    return Terms(**{"date_tolerance_days": default.date_tolerance_days, "amount_tolerance": default.amount_tolerance,
                    "missing_after_business_days": default.missing_after_business_days, **overrides})


class ExpectationRefused(FincoreError):
    code = "expectation_refused"
    title = "The expectation cannot be declared"
    status = 400


class ExpectationNostroUnknown(FincoreError):
    code = "expectation_nostro_unknown"
    title = "The expectation names no nostro of fincore"
    status = 404


def missing_after(*, currency: str, expected_date: date, business_days: int) -> datetime:
    """The instant the ``business_days``-th business date after ``expected_date`` closes."""
    day = expected_date
    for _ in range(max(business_days, 0)):
        day = settlement_selectors.next_business_date(currency=currency, after=day)
    return settlement_selectors.cutoff_at(currency=currency, business_date=day)


# --- payouts (money out) -----------------------------------------------------------------------


def _payout_expectation(payout: Any, now: datetime) -> Expectation:
    terms = terms_for(ExpectationSource.PAYOUT)
    # The file asks the bank to execute on the business date it was written in, which is when its
    # payouts went in transit (both in one transaction).
    expected = settlement_selectors.business_date(currency=payout.currency, at=payout.in_transit_at)
    public_id = ids.encode("po", payout.pk)
    return Expectation(
        nostro_id=payout.nostro, currency=payout.currency, amount=-payout.amount, expected_date=expected,
        date_tolerance_days=terms.date_tolerance_days, amount_tolerance=terms.amount_tolerance,
        source=ExpectationSource.PAYOUT, source_id=str(payout.pk),
        # The pain.001's unstructured remittance, as settlement writes it.
        reference=f"Payout {public_id} settlement {payout.settlement_reference}"[:140],
        end_to_end_id=payout.end_to_end_id, counterparty_name=payout.beneficiary_name,
        missing_after=missing_after(currency=payout.currency, expected_date=expected,
                                    business_days=terms.missing_after_business_days),
        metadata={"payout": public_id, "file_reference": payout.file_reference},
        created_at=now, created_by=SYSTEM.label,
    )


def _sent_by_file(payout: Any) -> bool:
    return payout.livemode and not payout.connector and bool(payout.file_reference) and bool(payout.nostro) \
        and payout.in_transit_at is not None


def payout_expect(*, payout_id: Any) -> Expectation | None:
    """The expectation of one payout sent in a payment file (made if it is not yet), or None for a
    payout not sent by file (pending, test mode, or sent by an instant rail: no nostro sees it)."""
    payout = payments_selectors.payout_get_any(payout_id)
    if payout is None or not _sent_by_file(payout):
        return None
    expectation = _payout_expectation(payout, clock.now())
    Expectation.objects.bulk_create([expectation], ignore_conflicts=True)
    return Expectation.objects.get(source=ExpectationSource.PAYOUT, source_id=str(payout.pk))


def payout_expect_event(*, event: dict[str, Any]) -> Expectation | None:
    """``payments.payout_updated`` from the outbox: a payout that went in transit in a file is
    expected. Any other change, and a redelivery, changes nothing."""
    payout = (event.get("data") or {}).get("object") or {}
    if payout.get("status") != "in_transit" or not payout.get("livemode"):
        return None
    payout_id = ids.decode("po", str(payout.get("id", "")))
    return None if payout_id is None else payout_expect(payout_id=payout_id)


def payouts_expect(*, now: datetime | None = None, lookback: timedelta = PAYOUT_SWEEP_LOOKBACK) -> int:
    """The sweep behind the event: every payout sent by file in the last ``lookback`` has its
    expectation. Returns how many it made (0 when the event made them all)."""
    now = now or clock.now()
    made = [_payout_expectation(payout, now)
            for payout in payments_selectors.payouts_sent_by_file(since=now - lookback) if _sent_by_file(payout)]
    return _insert_new(made)


def _insert_new(expectations: list[Expectation]) -> int:
    """Insert those not made before (by source and id); how many were new."""
    if not expectations:
        return 0
    keys = {(expectation.source, expectation.source_id) for expectation in expectations}
    with transaction.atomic():
        before = Expectation.objects.filter(source__in={key[0] for key in keys},
                                            source_id__in={key[1] for key in keys}).count()
        Expectation.objects.bulk_create(expectations, ignore_conflicts=True, batch_size=1000)
        after = Expectation.objects.filter(source__in={key[0] for key in keys},
                                           source_id__in={key[1] for key in keys}).count()
    return after - before


# --- sweeps (both sides) -----------------------------------------------------------------------


def _sweep_expectations(sweep: Any, now: datetime) -> list[Expectation]:
    terms = terms_for(ExpectationSource.SWEEP)
    deadline = missing_after(currency=sweep.currency, expected_date=sweep.execution_date,
                             business_days=terms.missing_after_business_days)
    public_id = treasury_sweeps.sweep_public_id(sweep.pk)
    return [
        Expectation(
            nostro_id=nostro_code, currency=sweep.currency, amount=amount, expected_date=sweep.execution_date,
            date_tolerance_days=terms.date_tolerance_days, amount_tolerance=terms.amount_tolerance,
            source=ExpectationSource.SWEEP, source_id=f"{sweep.pk}:{side}", reference=public_id,
            end_to_end_id=sweep.end_to_end_id, counterparty_name=counterparty, missing_after=deadline,
            metadata={"sweep": public_id, "side": side}, created_at=now, created_by=SYSTEM.label,
        )
        for nostro_code, amount, side, counterparty in (
            (sweep.from_nostro_id, -sweep.amount, "out", sweep.to_nostro.account_name),
            (sweep.to_nostro_id, sweep.amount, "in", sweep.from_nostro.account_name),
        )
    ]


def sweep_expect_event(*, event: dict[str, Any]) -> int:
    """``treasury.sweep_sent`` from the outbox: both sides of the sweep are expected (a redelivery
    makes nothing twice). Returns how many it made."""
    sweep = treasury_sweep_selectors.sweep_sent(public_id=str((event.get("data") or {}).get("sweep", "")))
    return 0 if sweep is None else _insert_new(_sweep_expectations(sweep, clock.now()))


def sweeps_expect(*, now: datetime | None = None, lookback: timedelta = PAYOUT_SWEEP_LOOKBACK) -> int:
    """The sweep behind the event: every sweep sent in the last ``lookback`` has both expectations."""
    now = now or clock.now()
    return _insert_new([expectation for sweep in treasury_sweep_selectors.sweeps_sent_since(since=now - lookback)
                        for expectation in _sweep_expectations(sweep, now)])


# --- connector settlements (money in) -----------------------------------------------------------


def settlement_batch_id(*, connector: str, business_date: date) -> str:
    """The reference fincore expects an acquirer to print on its settlement credit: the connector's
    name and the business date settled, ``"checkout-20250302"``. A connector that reports its own
    batch id would replace this."""
    return f"{connector}-{business_date:%Y%m%d}"


def _period(currency: str, business_date: date) -> tuple[datetime, datetime]:
    """The instants of ``business_date``: from the previous business date's cut-off to its own."""
    end = settlement_selectors.cutoff_at(currency=currency, business_date=business_date)
    previous = settlement_selectors.last_closed_business_date(currency=currency, at=end - timedelta(microseconds=1))
    return settlement_selectors.cutoff_at(currency=currency, business_date=previous), end


def connector_settlements_expect_date(*, currency: str, business_date: date,
                                      now: datetime | None = None) -> list[Expectation]:
    """For closed ``business_date`` of ``currency``, one expectation per connector whose live
    captures less succeeded refunds are not zero, on the next business date into the currency's
    payout nostro (none without one). Made once; returns those of the date."""
    now = now or clock.now()
    currency = currency.upper()
    nostro = treasury_selectors.payout_nostro(currency=currency)
    if nostro is None:
        return []
    terms = terms_for(ExpectationSource.CONNECTOR_SETTLEMENT)
    start, end = _period(currency, business_date)
    expected = settlement_selectors.next_business_date(currency=currency, after=business_date)
    sla = missing_after(currency=currency, expected_date=expected, business_days=terms.missing_after_business_days)
    made = []
    for net in payments_selectors.connector_nets(currency=currency, livemode=True, start=start, end=end):
        if net.net == 0 or not net.connector:
            continue
        batch = settlement_batch_id(connector=net.connector, business_date=business_date)
        made.append(Expectation(
            nostro_id=nostro.code, currency=currency, amount=net.net, expected_date=expected,
            date_tolerance_days=terms.date_tolerance_days, amount_tolerance=terms.amount_tolerance,
            source=ExpectationSource.CONNECTOR_SETTLEMENT,
            source_id=f"{net.connector}:{currency}:{business_date.isoformat()}:True",
            reference=batch, group_key=batch, counterparty_name=net.connector, missing_after=sla,
            metadata={"connector": net.connector, "business_date": business_date.isoformat(),
                      "captured": net.captured, "refunded": net.refunded},
            created_at=now, created_by=SYSTEM.label))
    _insert_new(made)
    return list(Expectation.objects.filter(source=ExpectationSource.CONNECTOR_SETTLEMENT,
                                           source_id__in=[expectation.source_id for expectation in made]))


def connector_settlements_expect(*, now: datetime | None = None,
                                 lookback_dates: int = SETTLEMENT_LOOKBACK_DATES) -> int:
    """For every payout currency with a calendar, the last ``lookback_dates`` closed business dates'
    connector settlements are expected (after each date closes; a missed run catches up). Returns
    how many expectations exist for those dates."""
    now = now or clock.now()
    calendars = set(settlement_selectors.calendar_currencies())
    count = 0
    for currency in treasury_selectors.payout_currencies():
        if currency not in calendars:
            continue
        day = settlement_selectors.last_closed_business_date(currency=currency, at=now)
        for _ in range(lookback_dates):
            count += len(connector_settlements_expect_date(currency=currency, business_date=day, now=now))
            end = settlement_selectors.cutoff_at(currency=currency, business_date=day)
            day = settlement_selectors.last_closed_business_date(currency=currency, at=end - timedelta(microseconds=1))
    return count


# --- declared by staff ---------------------------------------------------------------------------

_WORDS = re.compile(r"\S")


def expectation_declare(*, nostro_code: str, amount: int, currency: str, expected_date: date, actor: Actor,
                        reason: str, date_tolerance_days: int = 0, amount_tolerance: int = 0, reference: str = "",
                        counterparty_name: str = "", description: str = "") -> Expectation:
    """A movement a member of staff expects on ``nostro_code`` (signed minor units: positive is
    money in), journaled with their reason. Invariant: stored with its audit row, or nothing.
    Raises ExpectationNostroUnknown, ExpectationRefused (zero amount, another currency than the
    nostro's, a negative or too wide tolerance, a field too long, no reason)."""
    nostro = treasury_selectors.nostro(code=nostro_code or "")
    if nostro is None:
        raise ExpectationNostroUnknown(f"There is no nostro {nostro_code!r}.")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        raise ExpectationRefused("An expectation moves money: give an amount other than zero.")
    if currency.upper() != nostro.currency:
        raise ExpectationRefused(f"{nostro.code} holds {nostro.currency}, not {currency.upper()}.")
    if not 0 <= date_tolerance_days <= MAX_DATE_TOLERANCE_DAYS:
        raise ExpectationRefused(f"The date tolerance is 0 to {MAX_DATE_TOLERANCE_DAYS} days.")
    if amount_tolerance < 0 or amount_tolerance >= abs(amount):
        raise ExpectationRefused("The amount tolerance is at least zero and less than the amount.")
    if len(reference) > 140 or len(counterparty_name) > 140:
        raise ExpectationRefused("A reference and a counterparty have at most 140 characters.")
    if not _WORDS.search(reason or ""):
        raise ExpectationRefused("Say why the movement is expected.")
    terms = terms_for(ExpectationSource.STAFF)
    now = clock.now()
    business_days = max(terms.missing_after_business_days, date_tolerance_days + 1)
    expectation = Expectation(
        nostro_id=nostro.code, currency=nostro.currency, amount=amount, expected_date=expected_date,
        date_tolerance_days=date_tolerance_days, amount_tolerance=amount_tolerance, source=ExpectationSource.STAFF,
        source_id=str(uuid.uuid4()), reference=reference.strip(), counterparty_name=counterparty_name.strip(),
        description=description.strip() or reason.strip(),
        missing_after=missing_after(currency=nostro.currency, expected_date=expected_date,
                                    business_days=business_days),
        created_at=now, created_by=actor.label)
    try:
        with transaction.atomic():
            expectation.save(force_insert=True)
            audit_record(actor=actor, action="reconciliation.expectation_declared",
                         object_type="reconciliation.expectation", object_id=str(expectation.pk),
                         after=expectation_snapshot(expectation), reason=reason.strip())
    except IntegrityError as refused:  # a constraint the checks above missed
        raise ExpectationRefused("The expectation breaks a rule of the table.") from refused
    return expectation


def expectation_snapshot(expectation: Expectation) -> dict[str, Any]:
    return {"nostro": expectation.nostro_id, "currency": expectation.currency, "amount": expectation.amount,
            "expected_date": expectation.expected_date.isoformat(),
            "date_tolerance_days": expectation.date_tolerance_days,
            "amount_tolerance": expectation.amount_tolerance, "source": expectation.source,
            "source_id": expectation.source_id, "reference": expectation.reference,
            "counterparty_name": expectation.counterparty_name, "state": expectation.state,
            "missing_after": clock.isoformat(expectation.missing_after)}


# --- the SLA ---------------------------------------------------------------------------------------

# One journal row names at most this many expectations (the rest are counted).
JOURNAL_IDS_MAX = 1000


def expectations_mark_missing(*, now: datetime | None = None) -> int:
    """Every unreconciled or partially reconciled expectation whose ``missing_after`` has passed by
    ``now`` becomes ``missing``: one UPDATE and one journal row for the run. Returns how many."""
    now = now or clock.now()
    with transaction.atomic():
        overdue = list(Expectation.objects.select_for_update(skip_locked=True)
                       .filter(state__in=OPEN_STATES, missing_after__lte=now).order_by("pk")
                       .values_list("pk", flat=True))
        if not overdue:
            return 0
        marked = Expectation.objects.filter(pk__in=overdue, state__in=OPEN_STATES).update(
            state=ExpectationState.MISSING)
        audit_record(actor=SYSTEM, action="reconciliation.expectations_missing",
                     object_type="reconciliation.expectation", object_id=f"missing-{now:%Y%m%dT%H%M%S}",
                     after={"state": ExpectationState.MISSING, "count": marked,
                            "expectations": [str(pk) for pk in overdue[:JOURNAL_IDS_MAX]]},
                     reason="Past its SLA (missing_after) with no statement line matched.")
    return marked
