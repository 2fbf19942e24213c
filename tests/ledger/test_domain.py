"""The posting rules (apps.ledger.domain.plan_batch), pure Python: an exact outcome for every
result code, chain semantics, and a refused transfer that changes nothing."""

import copy
import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from apps.ledger import domain
from apps.ledger.data import Kind, Outcome, Result, TransferSpec
from apps.ledger.domain import AccountState, KnownTransfer, NewEntry, NewTransfer

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MERCHANT = UUID("00000000-0000-0000-0000-00000000aaaa")
OTHER_MERCHANT = UUID("00000000-0000-0000-0000-00000000bbbb")


def uid(n: int) -> UUID:
    return UUID(int=n)


# Accounts, by id, all live unless said: 1-3 BHD wallets of MERCHANT (debits_must_not_exceed_credits),
# 4 a BHD funding account of MERCHANT, 5 a USD funding account of MERCHANT, 6 a BHD system account
# that may not hold more than it owes, 7 a BHD funding account of OTHER_MERCHANT, 8 a BHD system
# account; 9 a BHD wallet and 10 a BHD funding account of MERCHANT in test mode, 11 a BHD system
# account in test mode.
def accounts(**overrides: dict) -> dict[UUID, AccountState]:
    def state(n: int, currency: str, *, merchant: UUID | None = MERCHANT, customer: bool = True,
              wallet: bool = False, credits_limited: bool = False, credits_posted: int = 0,
              debits_posted: int = 0, livemode: bool = True) -> AccountState:
        return AccountState(
            id=uid(n), currency=currency, livemode=livemode, merchant_id=merchant, customer_owned=customer,
            debits_must_not_exceed_credits=wallet, credits_must_not_exceed_debits=credits_limited,
            frozen=False, closed=False, debits_pending=0, debits_posted=debits_posted, credits_pending=0,
            credits_posted=credits_posted,
        )

    states = {
        uid(1): state(1, "BHD", wallet=True, credits_posted=1_000),
        uid(2): state(2, "BHD", wallet=True),
        uid(3): state(3, "BHD", wallet=True),
        uid(4): state(4, "BHD", debits_posted=1_000),
        uid(5): state(5, "USD"),
        uid(6): state(6, "BHD", merchant=None, customer=False, credits_limited=True, debits_posted=50),
        uid(7): state(7, "BHD", merchant=OTHER_MERCHANT),
        uid(8): state(8, "BHD", merchant=None, customer=False, credits_posted=50),
        uid(9): state(9, "BHD", wallet=True, credits_posted=1_000, livemode=False),
        uid(10): state(10, "BHD", debits_posted=1_000, livemode=False),
        uid(11): state(11, "BHD", merchant=None, customer=False, livemode=False),
    }
    for key, fields in overrides.items():
        number = int(key.removeprefix("a"))
        states[uid(number)] = replace(states[uid(number)], **fields)
    return states


def known(n: int, kind: Kind, debit: int, credit: int, amount: int, **fields) -> KnownTransfer:
    defaults = dict(
        id=uid(1000 + n), livemode=True, merchant_id=MERCHANT, client_id=f"known-{n}", kind=kind,
        debit_account_id=uid(debit), credit_account_id=uid(credit), currency="BHD", amount=amount, pending_id=None,
        reverses_id=None, expires_at=None, code="", reference="", metadata={}, created_at=NOW,
    )
    return KnownTransfer(**{**defaults, **fields})


# Transfers already in the ledger: 1001 a hold of 200 from wallet 1 to wallet 2 (expires in an
# hour), 1002 an immediate 100 from 1 to 2, 1003 a hold that expired a second ago, 1004 a void;
# 1005 a hold of 50 (expires in an hour) and 1006 an immediate 100, both from wallet 1 to wallet 2
# with a code and a reference; in test mode, 1007 a hold of 30 and 1008 an immediate 40, from wallet 9 to account 10.
HOLD = known(1, Kind.PENDING, 1, 2, 200, expires_at=NOW + timedelta(hours=1))
PAID = known(2, Kind.IMMEDIATE, 1, 2, 100)
STALE_HOLD = known(3, Kind.PENDING, 1, 2, 70, expires_at=NOW - timedelta(seconds=1))
VOID = known(4, Kind.VOID_PENDING, 1, 2, 70, pending_id=uid(1003))
TAGGED_HOLD = known(5, Kind.PENDING, 1, 2, 50, code="order", reference="order 5",
                    expires_at=NOW + timedelta(hours=1))
TAGGED_PAID = known(6, Kind.IMMEDIATE, 1, 2, 100, code="purchase", reference="order 6")
TEST_HOLD = known(7, Kind.PENDING, 9, 10, 30, livemode=False)
TEST_PAID = known(8, Kind.IMMEDIATE, 9, 10, 40, livemode=False)
KNOWN = {t.id: t for t in (HOLD, PAID, STALE_HOLD, VOID, TAGGED_HOLD, TAGGED_PAID, TEST_HOLD, TEST_PAID)}


def spec(debit: int | None = 4, credit: int | None = 1, amount: int | None = 10, **fields) -> TransferSpec:
    fields.setdefault("client_id", f"c-{debit}-{credit}-{amount}-{len(fields)}")
    fields.setdefault("currency", "BHD")
    fields.setdefault("merchant_id", MERCHANT)
    return TransferSpec(
        debit_account_id=uid(debit) if debit is not None else None,
        credit_account_id=uid(credit) if credit is not None else None, amount=amount, **fields,
    )


def plan(specs: list[TransferSpec], *, states: dict[UUID, AccountState] | None = None,
         existing: dict | None = None, resolved: set[UUID] | None = None, reversed_: set[UUID] | None = None,
         expired: set[UUID] | None = None, now: datetime = NOW) -> domain.Plan:
    ids = (uid(n) for n in itertools.count(5000))
    return domain.plan_batch(
        specs, accounts=accounts() if states is None else states, known=KNOWN, existing=existing or {},
        resolved_pending_ids=resolved or set(), reversed_ids=reversed_ or set(), now=now, new_id=lambda: next(ids),
        expired_pending_ids=expired or set(),
    )


def counters(state: AccountState) -> tuple[int, int, int, int]:
    return state.debits_pending, state.debits_posted, state.credits_pending, state.credits_posted


# --- successes, with exact balances and rows --------------------------------------------------


def test_an_immediate_transfer_posts_both_sides_and_writes_one_entry_each():
    result = plan([spec(1, 2, 300, code="transfer", reference="inv-1")])

    assert result.outcomes == [Outcome(Result.OK, uid(5000))]
    assert counters(result.accounts[uid(1)]) == (0, 300, 0, 1_000)
    assert counters(result.accounts[uid(2)]) == (0, 0, 0, 300)
    assert set(result.accounts) == {uid(1), uid(2)}
    [transfer] = result.transfers
    assert (transfer.id, transfer.debit_account_id, transfer.credit_account_id, transfer.currency, transfer.amount,
            transfer.expires_at) == (uid(5000), uid(1), uid(2), "BHD", 300, None)
    assert result.entries == [
        NewEntry(uid(1), uid(5000), "D", 0, 300, 0, 300, 0, 1_000),
        NewEntry(uid(2), uid(5000), "C", 0, 300, 0, 0, 0, 300),
    ]


def test_a_pending_transfer_holds_the_amount_and_expires_after_its_timeout():
    result = plan([spec(1, 2, 400, kind=Kind.PENDING, timeout_seconds=90)])

    assert result.outcomes == [Outcome(Result.OK, uid(5000))]
    assert counters(result.accounts[uid(1)]) == (400, 0, 0, 1_000)
    assert counters(result.accounts[uid(2)]) == (0, 0, 400, 0)
    assert result.transfers[0].expires_at == NOW + timedelta(seconds=90)
    assert [(e.side, e.pending_change, e.posted_change) for e in result.entries] == [("D", 400, 0), ("C", 400, 0)]


def test_a_pending_transfer_without_timeout_never_expires():
    result = plan([spec(1, 2, 400, kind=Kind.PENDING)])
    assert result.transfers[0].expires_at is None


def held(amount: int = 200) -> dict[UUID, AccountState]:
    """The accounts as HOLD left them: 200 held from wallet 1 to wallet 2."""
    return accounts(a1={"debits_pending": amount}, a2={"credits_pending": amount})


@pytest.mark.parametrize(
    ("amount", "posted", "debit_after", "credit_after"),
    [
        (None, 200, (0, 200, 0, 1_000), (0, 0, 0, 200)),  # in full
        (200, 200, (0, 200, 0, 1_000), (0, 0, 0, 200)),
        (75, 75, (0, 75, 0, 1_000), (0, 0, 0, 75)),  # partially: the rest of the hold ends
    ],
)
def test_posting_a_pending_transfer_ends_the_hold_and_posts_the_amount(amount, posted, debit_after, credit_after):
    result = plan([spec(None, None, amount, currency=None, kind=Kind.POST_PENDING, pending_id=HOLD.id)],
                  states=held())

    assert result.outcomes == [Outcome(Result.OK, uid(5000))]
    assert counters(result.accounts[uid(1)]) == debit_after
    assert counters(result.accounts[uid(2)]) == credit_after
    transfer = result.transfers[0]
    assert (transfer.debit_account_id, transfer.credit_account_id, transfer.amount) == (uid(1), uid(2), posted)
    assert [(e.side, e.pending_change, e.posted_change) for e in result.entries] == [
        ("D", -200, posted), ("C", -200, posted)
    ]


def test_voiding_a_pending_transfer_ends_the_hold_and_posts_nothing():
    result = plan([spec(None, None, None, currency=None, kind=Kind.VOID_PENDING, pending_id=HOLD.id)], states=held())

    assert result.outcomes == [Outcome(Result.OK, uid(5000))]
    assert counters(result.accounts[uid(1)]) == (0, 0, 0, 1_000)
    assert counters(result.accounts[uid(2)]) == (0, 0, 0, 0)
    assert result.transfers[0].amount == 200


def test_expiring_a_pending_transfer_past_its_timeout_ends_the_hold():
    states = accounts(a1={"debits_pending": 70}, a2={"credits_pending": 70})
    result = plan([spec(None, None, None, currency=None, kind=Kind.EXPIRE_PENDING, pending_id=STALE_HOLD.id)],
                  states=states)

    assert result.outcomes == [Outcome(Result.OK, uid(5000))]
    assert counters(result.accounts[uid(1)]) == (0, 0, 0, 1_000)
    assert counters(result.accounts[uid(2)]) == (0, 0, 0, 0)


def test_a_reversal_sends_the_amount_back_between_the_same_accounts():
    states = accounts(a1={"debits_posted": 100}, a2={"credits_posted": 100})
    result = plan([spec(None, None, None, currency=None, reverses_id=PAID.id, code="reversal")], states=states)

    assert result.outcomes == [Outcome(Result.OK, uid(5000))]
    transfer = result.transfers[0]
    assert (transfer.debit_account_id, transfer.credit_account_id, transfer.amount) == (uid(2), uid(1), 100)
    assert counters(result.accounts[uid(1)]) == (0, 100, 0, 1_100)
    assert counters(result.accounts[uid(2)]) == (0, 100, 0, 100)


def test_a_wallet_may_spend_exactly_what_it_holds_less_its_holds():
    states = accounts(a1={"debits_pending": 300})  # 1,000 credited, 300 held: 700 available
    assert plan([spec(1, 2, 700)], states=states).outcomes[0].result == Result.OK
    assert plan([spec(1, 2, 701)], states=states).outcomes[0].result == Result.EXCEEDS_CREDITS


def test_ending_a_hold_is_allowed_on_a_frozen_or_closed_account_but_posting_it_is_not():
    for flag, refusal in (("frozen", Result.ACCOUNT_FROZEN), ("closed", Result.ACCOUNT_CLOSED)):
        states = accounts(a1={"debits_pending": 200, flag: True}, a2={"credits_pending": 200})
        void = spec(None, None, None, currency=None, kind=Kind.VOID_PENDING, pending_id=HOLD.id)
        post = spec(None, None, None, currency=None, kind=Kind.POST_PENDING, pending_id=HOLD.id)
        assert plan([void], states=states).outcomes[0].result == Result.OK
        assert plan([post], states=states).outcomes == [Outcome(refusal)]


# --- every refusal, exactly ---------------------------------------------------------------

EXISTING_SAME = known(9, Kind.IMMEDIATE, 4, 1, 10, client_id="retry")
REFUSALS = [
    # (result, specs, batch arguments); each refusal is the batch's only outcome
    (Result.EXISTS_WITH_DIFFERENT_FIELDS, spec(4, 1, 11, client_id="retry"),
     {"existing": {(MERCHANT, True, "retry"): EXISTING_SAME}}),
    (Result.AMOUNT_MUST_BE_POSITIVE, spec(4, 1, 0), {}),
    (Result.AMOUNT_MUST_BE_POSITIVE, spec(4, 1, -5), {}),
    (Result.AMOUNT_MUST_BE_POSITIVE, spec(4, 1, None), {}),
    (Result.AMOUNT_MUST_BE_POSITIVE,
     spec(None, None, 0, currency=None, kind=Kind.POST_PENDING, pending_id=HOLD.id), {"states": held()}),
    (Result.SAME_ACCOUNT, spec(4, 4, 10), {}),
    (Result.DEBIT_ACCOUNT_NOT_FOUND, spec(99, 1, 10), {}),
    (Result.CREDIT_ACCOUNT_NOT_FOUND, spec(4, 99, 10), {}),
    # Under merchant scope, another merchant's account or a system account does not exist.
    (Result.DEBIT_ACCOUNT_NOT_FOUND, spec(7, 1, 10, merchant_scope=True), {}),
    (Result.CREDIT_ACCOUNT_NOT_FOUND, spec(4, 8, 10, merchant_scope=True), {}),
    (Result.DEBIT_ACCOUNT_NOT_FOUND, spec(4, 1, 10, merchant_id=OTHER_MERCHANT, merchant_scope=True), {}),
    # Test and live money never meet: an account of the other mode does not exist, with or without
    # merchant scope, for a customer's account or fincore's own.
    (Result.DEBIT_ACCOUNT_NOT_FOUND, spec(10, 1, 10), {}),
    (Result.CREDIT_ACCOUNT_NOT_FOUND, spec(4, 9, 10), {}),
    (Result.DEBIT_ACCOUNT_NOT_FOUND, spec(4, 9, 10, livemode=False), {}),
    (Result.CREDIT_ACCOUNT_NOT_FOUND, spec(10, 1, 10, livemode=False, merchant_scope=True), {}),
    (Result.CREDIT_ACCOUNT_NOT_FOUND, spec(10, 8, 10, livemode=False), {}),
    (Result.DEBIT_ACCOUNT_NOT_FOUND, spec(11, 2, 10, merchant_id=None), {}),
    (Result.CURRENCY_MISMATCH, spec(5, 1, 10, currency="USD"), {}),
    (Result.CURRENCY_MISMATCH, spec(4, 1, 10, currency="USD"), {}),
    (Result.ACCOUNT_FROZEN, spec(4, 1, 10), {"states": accounts(a4={"frozen": True})}),
    (Result.ACCOUNT_FROZEN, spec(4, 1, 10), {"states": accounts(a1={"frozen": True})}),
    (Result.ACCOUNT_CLOSED, spec(4, 1, 10), {"states": accounts(a4={"closed": True})}),
    (Result.ACCOUNT_CLOSED, spec(4, 1, 10), {"states": accounts(a1={"closed": True})}),
    (Result.EXCEEDS_CREDITS, spec(1, 2, 1_001), {}),
    (Result.EXCEEDS_CREDITS, spec(1, 2, 801, kind=Kind.PENDING), {"states": accounts(a1={"debits_pending": 200})}),
    (Result.EXCEEDS_DEBITS, spec(8, 6, 51), {}),
    (Result.EXCEEDS_DEBITS, spec(8, 6, 51, kind=Kind.PENDING), {}),
    (Result.OVERFLOWS, spec(4, 1, 2), {"states": accounts(a1={"credits_posted": domain.MAX_BALANCE - 1})}),
    (Result.OVERFLOWS, spec(4, 1, 2, kind=Kind.PENDING),
     {"states": accounts(a1={"credits_posted": 0}, a4={"debits_posted": domain.MAX_BALANCE - 1})}),
    (Result.PENDING_NOT_FOUND, spec(None, None, None, currency=None, kind=Kind.VOID_PENDING, pending_id=uid(77)), {}),
    (Result.PENDING_NOT_FOUND,
     spec(None, None, None, currency=None, kind=Kind.VOID_PENDING, pending_id=HOLD.id, merchant_id=OTHER_MERCHANT,
          merchant_scope=True), {"states": held()}),
    # A hold of the other mode does not exist, for a post, a void or an expiry.
    (Result.PENDING_NOT_FOUND,
     spec(None, None, None, currency=None, kind=Kind.POST_PENDING, pending_id=HOLD.id, livemode=False),
     {"states": held()}),
    (Result.PENDING_NOT_FOUND,
     spec(None, None, None, currency=None, kind=Kind.VOID_PENDING, pending_id=TEST_HOLD.id), {}),
    (Result.PENDING_NOT_FOUND,
     spec(None, None, None, currency=None, kind=Kind.EXPIRE_PENDING, pending_id=STALE_HOLD.id, livemode=False),
     {}),
    (Result.NOT_PENDING, spec(None, None, None, currency=None, kind=Kind.POST_PENDING, pending_id=PAID.id), {}),
    (Result.PENDING_ALREADY_RESOLVED,
     spec(None, None, None, currency=None, kind=Kind.POST_PENDING, pending_id=HOLD.id), {"resolved": {HOLD.id}}),
    (Result.PENDING_EXPIRED,
     spec(None, None, None, currency=None, kind=Kind.POST_PENDING, pending_id=STALE_HOLD.id), {}),
    (Result.PENDING_EXPIRED,
     spec(None, None, None, currency=None, kind=Kind.VOID_PENDING, pending_id=STALE_HOLD.id), {}),
    # Exactly at its deadline a hold has expired.
    (Result.PENDING_EXPIRED, spec(None, None, None, currency=None, kind=Kind.POST_PENDING, pending_id=HOLD.id),
     {"states": held(), "now": NOW + timedelta(hours=1)}),
    # A hold that ended by expiry answers "expired" to a late post or void (as TigerBeetle's
    # pending_transfer_expired), one posted or voided in time "already resolved", even past its deadline.
    (Result.PENDING_EXPIRED,
     spec(None, None, None, currency=None, kind=Kind.VOID_PENDING, pending_id=STALE_HOLD.id),
     {"resolved": {STALE_HOLD.id}, "expired": {STALE_HOLD.id}}),
    (Result.PENDING_ALREADY_RESOLVED,
     spec(None, None, None, currency=None, kind=Kind.POST_PENDING, pending_id=STALE_HOLD.id),
     {"resolved": {STALE_HOLD.id}}),
    (Result.PENDING_ALREADY_RESOLVED,
     spec(None, None, None, currency=None, kind=Kind.EXPIRE_PENDING, pending_id=STALE_HOLD.id),
     {"resolved": {STALE_HOLD.id}, "expired": {STALE_HOLD.id}}),
    (Result.PENDING_NOT_EXPIRED,
     spec(None, None, None, currency=None, kind=Kind.EXPIRE_PENDING, pending_id=HOLD.id), {"states": held()}),
    (Result.EXCEEDS_PENDING_AMOUNT,
     spec(None, None, 201, currency=None, kind=Kind.POST_PENDING, pending_id=HOLD.id), {"states": held()}),
    (Result.TIMEOUT_REQUIRES_PENDING, spec(4, 1, 10, timeout_seconds=30), {}),
    (Result.TIMEOUT_MUST_BE_POSITIVE, spec(4, 1, 10, kind=Kind.PENDING, timeout_seconds=0), {}),
    (Result.TIMEOUT_MUST_BE_POSITIVE, spec(4, 1, 10, kind=Kind.PENDING, timeout_seconds=-30), {}),
    # Checked first: a non-positive timeout on a transfer that takes none at all says so.
    (Result.TIMEOUT_MUST_BE_POSITIVE, spec(4, 1, 10, timeout_seconds=0), {}),
    (Result.TIMEOUT_REQUIRES_PENDING,
     spec(None, None, None, currency=None, kind=Kind.VOID_PENDING, pending_id=HOLD.id, timeout_seconds=30),
     {"states": held()}),
    (Result.REVERSED_NOT_FOUND, spec(None, None, None, currency=None, reverses_id=uid(77)), {}),
    (Result.REVERSED_NOT_FOUND,
     spec(None, None, None, currency=None, reverses_id=PAID.id, merchant_id=OTHER_MERCHANT, merchant_scope=True), {}),
    (Result.REVERSED_NOT_FOUND, spec(None, None, None, currency=None, reverses_id=PAID.id, livemode=False), {}),
    (Result.REVERSED_NOT_FOUND, spec(None, None, None, currency=None, reverses_id=TEST_PAID.id), {}),
    (Result.NOT_REVERSIBLE, spec(None, None, None, currency=None, reverses_id=HOLD.id), {"states": held()}),
    (Result.NOT_REVERSIBLE, spec(None, None, None, currency=None, reverses_id=VOID.id), {}),
    (Result.NOT_REVERSIBLE, spec(None, None, 10, currency=None, kind=Kind.PENDING, reverses_id=PAID.id), {}),
    (Result.ALREADY_REVERSED, spec(None, None, None, currency=None, reverses_id=PAID.id), {"reversed_": {PAID.id}}),
]


@pytest.mark.parametrize(("result", "request_", "arguments"), REFUSALS, ids=[r[0].value for r in REFUSALS])
def test_a_refused_transfer_has_its_exact_result_and_changes_nothing(result, request_, arguments):
    arguments = dict(arguments)
    states = arguments.pop("states", None) or accounts()
    before = copy.deepcopy(states)

    refused = plan([request_], states=states, **arguments)

    assert refused.outcomes == [Outcome(result)]
    assert (refused.transfers, refused.entries, refused.accounts) == ([], [], {})
    assert states == before  # the caller's states are not modified either


def test_a_retry_with_the_same_fields_returns_the_first_transfer_and_changes_nothing():
    retried = plan([spec(4, 1, 10, client_id="retry")], existing={(MERCHANT, True, "retry"): EXISTING_SAME})
    assert retried.outcomes == [Outcome(Result.EXISTS, EXISTING_SAME.id)]
    assert (retried.transfers, retried.entries, retried.accounts) == ([], [], {})


def test_client_ids_are_scoped_by_merchant():
    # The same client id under another merchant is another transfer.
    other = plan([spec(4, 1, 10, client_id="retry", merchant_id=None)],
                 existing={(MERCHANT, True, "retry"): EXISTING_SAME})
    assert other.outcomes == [Outcome(Result.OK, uid(5000))]


def test_client_ids_are_scoped_by_mode():
    # The same merchant's client id in test mode is another transfer than its live one.
    test_spec = spec(10, 9, 10, client_id="retry", livemode=False)
    assert domain.client_key(test_spec) == (MERCHANT, False, "retry")
    assert domain.client_key(spec(4, 1, 10, client_id="retry")) == (MERCHANT, True, "retry")

    other = plan([test_spec], existing={(MERCHANT, True, "retry"): EXISTING_SAME})

    assert other.outcomes == [Outcome(Result.OK, uid(5000))]
    assert [(t.spec.livemode, t.debit_account_id, t.credit_account_id) for t in other.transfers] == [
        (False, uid(10), uid(9))
    ]


# --- test mode ------------------------------------------------------------------------------


def test_test_money_moves_between_test_accounts_like_live_money():
    states = accounts(a9={"debits_pending": 30, "debits_posted": 40}, a10={"credits_pending": 30,
                                                                           "credits_posted": 40})
    result = plan([
        spec(10, 9, 25, livemode=False, client_id="top-up"),
        spec(None, None, 20, currency=None, kind=Kind.POST_PENDING, pending_id=TEST_HOLD.id, livemode=False,
             client_id="capture"),
        spec(None, None, None, currency=None, reverses_id=TEST_PAID.id, code="reversal", livemode=False,
             client_id="refund"),
        spec(9, 11, 5, livemode=False, merchant_id=None, client_id="fee"),
    ], states=states)

    assert result.outcomes == [Outcome(Result.OK, uid(5000 + n)) for n in range(4)]
    # 1,000 + 25 + 40 credited; 40 + 20 + 5 debited; the hold ended.
    assert counters(result.accounts[uid(9)]) == (0, 65, 0, 1_065)
    assert counters(result.accounts[uid(10)]) == (0, 1_065, 0, 60)
    assert counters(result.accounts[uid(11)]) == (0, 0, 0, 5)
    assert {t.spec.livemode for t in result.transfers} == {False}


def test_a_mode_mismatch_anywhere_in_a_chain_fails_the_chain():
    result = plan([spec(10, 9, 5, livemode=False, linked=True, client_id="a"),
                   spec(10, 1, 5, livemode=False, client_id="b")])

    # The second pays a live wallet from test money: no such account, and the first fails with it.
    assert result.outcomes == [Outcome(Result.LINKED_EVENT_FAILED), Outcome(Result.CREDIT_ACCOUNT_NOT_FOUND)]
    assert (result.transfers, result.entries, result.accounts) == ([], [], {})


# --- code and reference of resolutions and reversals -------------------------------------------


def _post(pending: KnownTransfer, kind: Kind = Kind.POST_PENDING, **fields) -> TransferSpec:
    fields.setdefault("client_id", f"{kind}-{pending.id}")
    amount = fields.pop("amount", None)  # None: post (or void) the whole hold
    return spec(None, None, amount, currency=None, kind=kind, pending_id=pending.id, **fields)


@pytest.mark.parametrize(
    ("kind", "now"),
    [(Kind.POST_PENDING, NOW), (Kind.VOID_PENDING, NOW), (Kind.EXPIRE_PENDING, NOW + timedelta(hours=1))],
)
def test_a_resolution_without_code_or_reference_takes_its_pendings(kind, now):
    states = accounts(a1={"debits_pending": 50}, a2={"credits_pending": 50})

    blank = plan([_post(TAGGED_HOLD, kind)], states=states, now=now)
    given = plan([_post(TAGGED_HOLD, kind, code="capture", reference="shipment 1")], states=states, now=now)
    code_only = plan([_post(TAGGED_HOLD, kind, code="capture")], states=states, now=now)

    assert blank.outcomes == given.outcomes == code_only.outcomes == [Outcome(Result.OK, uid(5000))]
    assert [(t.code, t.reference) for t in blank.transfers] == [("order", "order 5")]
    assert [(t.code, t.reference) for t in given.transfers] == [("capture", "shipment 1")]
    assert [(t.code, t.reference) for t in code_only.transfers] == [("capture", "order 5")]
    # What the spec asked stays as asked: only the transfer written fills the blanks.
    assert (blank.transfers[0].spec.code, blank.transfers[0].spec.reference) == ("", "")


def test_a_reversal_without_reference_takes_the_reversed_transfers():
    states = accounts(a1={"debits_posted": 100}, a2={"credits_posted": 100})

    blank = plan([spec(None, None, None, currency=None, reverses_id=TAGGED_PAID.id, code="reversal")], states=states)
    given = plan([spec(None, None, None, currency=None, reverses_id=TAGGED_PAID.id, code="reversal",
                       reference="refund 6")], states=states)

    assert [(t.code, t.reference) for t in blank.transfers] == [("reversal", "order 6")]
    assert [(t.code, t.reference) for t in given.transfers] == [("reversal", "refund 6")]


def _posted_before(client_id: str, **fields) -> KnownTransfer:
    """The post of TAGGED_HOLD as the ledger holds it: with the code and reference it took."""
    return known(20, Kind.POST_PENDING, 1, 2, 50, client_id=client_id, pending_id=TAGGED_HOLD.id,
                 **{"code": "order", "reference": "order 5", **fields})


@pytest.mark.parametrize(
    ("retry", "result"),
    [
        ({}, Result.EXISTS),  # blank, as first sent: it took the pending's
        ({"code": "order", "reference": "order 5"}, Result.EXISTS),  # what it took, spelled out
        ({"reference": "order 5"}, Result.EXISTS),
        ({"reference": "another order"}, Result.EXISTS_WITH_DIFFERENT_FIELDS),
        ({"code": "capture"}, Result.EXISTS_WITH_DIFFERENT_FIELDS),
    ],
)
def test_a_retried_resolution_with_blank_code_or_reference_is_the_same_request(retry, result):
    existing = {(MERCHANT, True, "capture-5"): _posted_before("capture-5")}
    states = accounts(a1={"debits_pending": 50}, a2={"credits_pending": 50})

    retried = plan([_post(TAGGED_HOLD, client_id="capture-5", **retry)], states=states, existing=existing,
                   resolved={TAGGED_HOLD.id})

    expected = Outcome(Result.EXISTS, uid(1020)) if result == Result.EXISTS else Outcome(result)
    assert retried.outcomes == [expected]
    assert (retried.transfers, retried.entries, retried.accounts) == ([], [], {})


def test_a_retried_reversal_with_blank_reference_is_the_same_request():
    reversal = known(21, Kind.IMMEDIATE, 2, 1, 100, client_id="refund-6", reverses_id=TAGGED_PAID.id,
                     code="reversal", reference="order 6")
    existing = {(MERCHANT, True, "refund-6"): reversal}
    retry = spec(None, None, None, currency=None, reverses_id=TAGGED_PAID.id, code="reversal", client_id="refund-6")

    assert plan([retry], existing=existing, reversed_={TAGGED_PAID.id}).outcomes == [
        Outcome(Result.EXISTS, reversal.id)]
    assert plan([replace(retry, reference="other")], existing=existing, reversed_={TAGGED_PAID.id}).outcomes == [
        Outcome(Result.EXISTS_WITH_DIFFERENT_FIELDS)]


def test_a_retry_in_the_same_batch_with_blanks_finds_the_resolution_it_just_made():
    states = accounts(a1={"debits_pending": 50}, a2={"credits_pending": 50})

    result = plan([_post(TAGGED_HOLD, client_id="twice"), _post(TAGGED_HOLD, client_id="twice")], states=states)

    assert result.outcomes == [Outcome(Result.OK, uid(5000)), Outcome(Result.EXISTS, uid(5000))]
    assert [(t.code, t.reference) for t in result.transfers] == [("order", "order 5")]


def test_blanks_match_only_for_resolutions_and_reversals():
    # An immediate transfer's code and reference are what it was sent with: a retry without them differs.
    first = known(22, Kind.IMMEDIATE, 4, 1, 10, client_id="sale", code="sale", reference="till 3")
    existing = {(MERCHANT, True, "sale"): first}

    assert plan([spec(4, 1, 10, client_id="sale", code="sale", reference="till 3")], existing=existing).outcomes == [
        Outcome(Result.EXISTS, first.id)]
    assert plan([spec(4, 1, 10, client_id="sale")], existing=existing).outcomes == [
        Outcome(Result.EXISTS_WITH_DIFFERENT_FIELDS)]
    assert plan([spec(4, 1, 10, client_id="sale", code="sale")], existing=existing).outcomes == [
        Outcome(Result.EXISTS_WITH_DIFFERENT_FIELDS)]


# --- what a retry must repeat: timeout, metadata, and "post all" --------------------------------


def _hold_made(client_id: str, *, timeout: int | None, **fields) -> KnownTransfer:
    """A hold of 200 from wallet 1 to wallet 2 as the ledger holds it, made 10 minutes ago (with
    ``timeout``: expiring that many seconds after it was made)."""
    made = NOW - timedelta(minutes=10)
    return known(30, Kind.PENDING, 1, 2, 200, client_id=client_id, created_at=made,
                 expires_at=made + timedelta(seconds=timeout) if timeout is not None else None, **fields)


@pytest.mark.parametrize(
    ("first_timeout", "retry_timeout", "result"),
    [
        (60, 60, Result.EXISTS),
        (None, None, Result.EXISTS),
        (60, 86_400, Result.EXISTS_WITH_DIFFERENT_FIELDS),
        (60, 59, Result.EXISTS_WITH_DIFFERENT_FIELDS),
        (60, None, Result.EXISTS_WITH_DIFFERENT_FIELDS),  # no timeout: a hold that never expires
        (None, 60, Result.EXISTS_WITH_DIFFERENT_FIELDS),
    ],
)
def test_a_retried_hold_must_ask_for_the_same_timeout(first_timeout, retry_timeout, result):
    first = _hold_made("hold-1", timeout=first_timeout)
    retry = spec(1, 2, 200, kind=Kind.PENDING, timeout_seconds=retry_timeout, client_id="hold-1")

    retried = plan([retry], states=held(), existing={(MERCHANT, True, "hold-1"): first})

    assert retried.outcomes == [Outcome(result, first.id if result == Result.EXISTS else None)]
    assert (retried.transfers, retried.entries, retried.accounts) == ([], [], {})


def test_a_retry_in_the_same_batch_must_ask_for_the_same_timeout():
    result = plan([spec(1, 2, 10, kind=Kind.PENDING, timeout_seconds=60, client_id="h"),
                   spec(1, 2, 10, kind=Kind.PENDING, timeout_seconds=60, client_id="h"),
                   spec(1, 2, 10, kind=Kind.PENDING, timeout_seconds=86_400, client_id="h")])

    assert result.outcomes == [Outcome(Result.OK, uid(5000)), Outcome(Result.EXISTS, uid(5000)),
                               Outcome(Result.EXISTS_WITH_DIFFERENT_FIELDS)]


@pytest.mark.parametrize(
    ("first", "retry", "result"),
    [
        ({"order": "A-1", "lines": [1, 2]}, {"lines": [1, 2], "order": "A-1"}, Result.EXISTS),
        ({}, {}, Result.EXISTS),
        ({"order": "A-1"}, {"order": "A-2"}, Result.EXISTS_WITH_DIFFERENT_FIELDS),
        ({"order": "A-1"}, {}, Result.EXISTS_WITH_DIFFERENT_FIELDS),
        ({}, {"order": "A-1"}, Result.EXISTS_WITH_DIFFERENT_FIELDS),
        ({"lines": [1, 2]}, {"lines": [2, 1]}, Result.EXISTS_WITH_DIFFERENT_FIELDS),
        # JSON, not Python: true is not 1, nor false 0 ...
        ({"gift": True}, {"gift": 1}, Result.EXISTS_WITH_DIFFERENT_FIELDS),
        ({"n": [0]}, {"n": [False]}, Result.EXISTS_WITH_DIFFERENT_FIELDS),
        ({"n": "1"}, {"n": 1}, Result.EXISTS_WITH_DIFFERENT_FIELDS),
        # ... but a number is its value, however jsonb writes it back (1e+20 as 100000000000000000000).
        ({"n": 10**20}, {"n": 1e20}, Result.EXISTS),
        ({"n": 2}, {"n": 2.0}, Result.EXISTS),
    ],
)
def test_a_retry_must_send_the_same_metadata(first, retry, result):
    stored = known(31, Kind.IMMEDIATE, 4, 1, 10, client_id="sale", metadata=first)

    retried = plan([spec(4, 1, 10, client_id="sale", metadata=retry)],
                   existing={(MERCHANT, True, "sale"): stored})

    assert retried.outcomes == [Outcome(result, stored.id if result == Result.EXISTS else None)]
    assert (retried.transfers, retried.entries, retried.accounts) == ([], [], {})


def test_a_retry_in_the_same_batch_must_send_the_same_metadata():
    result = plan([spec(4, 1, 10, client_id="m", metadata={"a": 1}), spec(4, 1, 10, client_id="m", metadata={"a": 1}),
                   spec(4, 1, 10, client_id="m", metadata={"a": 2})])

    assert result.outcomes == [Outcome(Result.OK, uid(5000)), Outcome(Result.EXISTS, uid(5000)),
                               Outcome(Result.EXISTS_WITH_DIFFERENT_FIELDS)]


@pytest.mark.parametrize(
    ("posted", "retry_amount", "result"),
    [
        (200, None, Result.EXISTS),  # posted in full, retried as "post all"
        (200, 200, Result.EXISTS),
        (75, 75, Result.EXISTS),
        (75, None, Result.EXISTS_WITH_DIFFERENT_FIELDS),  # "post all" is not the earlier partial post
        (75, 200, Result.EXISTS_WITH_DIFFERENT_FIELDS),
        (200, 75, Result.EXISTS_WITH_DIFFERENT_FIELDS),
    ],
)
def test_a_retried_post_must_ask_for_the_amount_posted(posted, retry_amount, result):
    capture = known(32, Kind.POST_PENDING, 1, 2, posted, client_id="capture-1", pending_id=HOLD.id)

    retried = plan([_post(HOLD, client_id="capture-1", amount=retry_amount)],
                   existing={(MERCHANT, True, "capture-1"): capture}, resolved={HOLD.id})

    assert retried.outcomes == [Outcome(result, capture.id if result == Result.EXISTS else None)]
    assert (retried.transfers, retried.entries, retried.accounts) == ([], [], {})


def test_post_all_retried_in_the_same_batch_after_a_partial_post_differs():
    result = plan([_post(HOLD, client_id="c", amount=75), _post(HOLD, client_id="c", amount=75),
                   _post(HOLD, client_id="c")], states=held())

    assert result.outcomes == [Outcome(Result.OK, uid(5000)), Outcome(Result.EXISTS, uid(5000)),
                               Outcome(Result.EXISTS_WITH_DIFFERENT_FIELDS)]


def test_every_result_code_is_covered():
    covered = {result for result, _, _ in REFUSALS} | {
        Result.OK, Result.EXISTS, Result.LINKED_EVENT_FAILED, Result.LINKED_EVENT_CHAIN_OPEN,
    }
    assert covered == set(Result)


# --- chains ---------------------------------------------------------------------------------


def test_a_linked_chain_commits_together_and_later_members_see_earlier_ones():
    # Wallet 2 starts empty: it can pay 3 only because the chain funded it first.
    result = plan([spec(4, 2, 50, linked=True, client_id="a"), spec(2, 3, 50, client_id="b")])

    assert result.outcomes == [Outcome(Result.OK, uid(5000)), Outcome(Result.OK, uid(5001))]
    assert counters(result.accounts[uid(2)]) == (0, 50, 0, 50)
    assert counters(result.accounts[uid(3)]) == (0, 0, 0, 50)
    assert len(result.entries) == 4


def test_a_chain_failing_in_the_middle_fails_whole_and_the_rest_of_the_batch_goes_on():
    result = plan([
        spec(4, 2, 50, linked=True, client_id="a"),
        spec(2, 3, 51, linked=True, client_id="b"),  # one more than the chain gave wallet 2
        spec(4, 3, 5, client_id="c"),
        spec(4, 3, 7, client_id="d"),  # a chain of its own
    ])

    assert [o.result for o in result.outcomes] == [
        Result.LINKED_EVENT_FAILED, Result.EXCEEDS_CREDITS, Result.LINKED_EVENT_FAILED, Result.OK,
    ]
    # The failed chain used one id (5000), never written.
    assert [o.transfer_id for o in result.outcomes] == [None, None, None, uid(5001)]
    assert [t.spec.client_id for t in result.transfers] == ["d"]
    assert uid(2) not in result.accounts
    assert counters(result.accounts[uid(3)]) == (0, 0, 0, 7)
    assert counters(result.accounts[uid(4)]) == (0, 1_007, 0, 0)


def test_a_chain_left_open_at_the_end_of_the_batch_fails_whole():
    result = plan([spec(4, 1, 5, client_id="a"), spec(4, 2, 5, linked=True, client_id="b"),
                   spec(4, 3, 5, linked=True, client_id="c")])
    assert [o.result for o in result.outcomes] == [
        Result.OK, Result.LINKED_EVENT_FAILED, Result.LINKED_EVENT_CHAIN_OPEN,
    ]
    assert [t.spec.client_id for t in result.transfers] == ["a"]

    alone = plan([spec(4, 2, 5, linked=True)])
    assert alone.outcomes == [Outcome(Result.LINKED_EVENT_CHAIN_OPEN)]
    assert alone.transfers == []


def test_a_failed_chain_releases_the_pending_it_resolved_and_the_client_ids_it_claimed():
    void = spec(None, None, None, currency=None, kind=Kind.VOID_PENDING, pending_id=HOLD.id, client_id="void")
    result = plan([
        replace(void, linked=True),
        spec(4, 99, 5, client_id="bad"),
        void,  # the same client id, now in a chain of its own: the hold is still there to void
    ], states=held())

    assert [o.result for o in result.outcomes] == [Result.LINKED_EVENT_FAILED, Result.CREDIT_ACCOUNT_NOT_FOUND,
                                                   Result.OK]
    assert counters(result.accounts[uid(1)]) == (0, 0, 0, 1_000)


def test_an_existing_member_does_not_break_its_chain_but_fails_with_it():
    existing = {(MERCHANT, True, "retry"): EXISTING_SAME}
    ok = plan([spec(4, 1, 10, client_id="retry", linked=True), spec(4, 2, 5, client_id="new")], existing=existing)
    assert ok.outcomes == [Outcome(Result.EXISTS, EXISTING_SAME.id), Outcome(Result.OK, uid(5000))]

    failed = plan([spec(4, 1, 10, client_id="retry", linked=True), spec(4, 4, 5, client_id="new")],
                  existing=existing)
    assert failed.outcomes == [Outcome(Result.LINKED_EVENT_FAILED), Outcome(Result.SAME_ACCOUNT)]


def test_a_hold_expired_earlier_in_the_batch_answers_expired_to_a_post():
    states = accounts(a1={"debits_pending": 70}, a2={"credits_pending": 70})
    result = plan([
        spec(None, None, None, currency=None, kind=Kind.EXPIRE_PENDING, pending_id=STALE_HOLD.id, client_id="e"),
        spec(None, None, None, currency=None, kind=Kind.POST_PENDING, pending_id=STALE_HOLD.id, client_id="p"),
    ], states=states)
    assert result.outcomes == [Outcome(Result.OK, uid(5000)), Outcome(Result.PENDING_EXPIRED)]


def test_within_a_batch_a_client_id_is_used_once_and_a_pending_resolved_once():
    result = plan([
        spec(4, 1, 10, client_id="x"),
        spec(4, 1, 10, client_id="x"),
        spec(4, 1, 11, client_id="x"),
        spec(None, None, None, currency=None, kind=Kind.VOID_PENDING, pending_id=HOLD.id, client_id="v1"),
        spec(None, None, None, currency=None, kind=Kind.POST_PENDING, pending_id=HOLD.id, client_id="p1"),
        spec(None, None, None, currency=None, reverses_id=PAID.id, client_id="r1"),
        spec(None, None, None, currency=None, reverses_id=PAID.id, client_id="r2"),
    ], states=accounts(a1={"debits_pending": 200, "debits_posted": 100}, a2={"credits_pending": 200,
                                                                              "credits_posted": 100}))

    assert result.outcomes == [
        Outcome(Result.OK, uid(5000)), Outcome(Result.EXISTS, uid(5000)),
        Outcome(Result.EXISTS_WITH_DIFFERENT_FIELDS), Outcome(Result.OK, uid(5001)),
        Outcome(Result.PENDING_ALREADY_RESOLVED), Outcome(Result.OK, uid(5002)), Outcome(Result.ALREADY_REVERSED),
    ]
    assert len(result.transfers) == 3


def test_chains_split_the_batch_after_each_unlinked_transfer():
    specs = [spec(linked=True), spec(), spec(), spec(linked=True), spec(linked=True), spec(), spec(linked=True)]
    assert domain.chains(specs) == [(0, 2), (2, 3), (3, 6), (6, 7)]


def test_the_transfers_and_entries_of_a_batch_come_out_in_order():
    result = plan([spec(4, 1, n, client_id=f"n{n}") for n in range(1, 6)])
    assert [t.amount for t in result.transfers] == [1, 2, 3, 4, 5]
    assert [(e.account_id, e.credits_posted) for e in result.entries if e.side == "C"] == [
        (uid(1), 1_001), (uid(1), 1_003), (uid(1), 1_006), (uid(1), 1_010), (uid(1), 1_015)
    ]
    assert all(isinstance(t, NewTransfer) for t in result.transfers)
