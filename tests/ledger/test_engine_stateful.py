"""The posting engine on the real database against a reference model written here.

Hypothesis drives random operations — immediate and pending transfers, posts (full and partial),
voids, expiry (a frozen clock moved past the timeout), reversals, linked chains (some failing in
the middle, some left open), retries of a client id, transfers between currencies, frozen and
closed accounts, over-limit debits and credits, another merchant's accounts under merchant
scope, test-mode accounts and callers beside live ones, timeouts that are not positive, accounts
named by role rather than id (opened by the first transfer posted to them, never by a refused
one) — through ``engine.post`` and the services. The model is TigerBeetle's account model kept
as four plain counters per account; it does not use ``apps.ledger.domain``. After every step,
every result and every balance must agree with it (and every new transfer's mode, code and
reference), and ``ledger_verify`` must pass; balances as of any earlier instant must equal what
the model had then.

Each example runs inside a savepoint of the test's transaction, rolled back at its end.
"""

import copy
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from apps.core import clock
from apps.ledger import engine, selectors, services
from apps.ledger.data import RESERVED_CLIENT_ID_PREFIX, AccountRef, AccountRole, Kind, Outcome, Result, TransferSpec
from apps.ledger.models import Account, Transfer

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MERCHANT = uuid.UUID("0195a000-0000-7000-8000-000000000001")
OTHER_MERCHANT = uuid.UUID("0195a000-0000-7000-8000-000000000002")
BIG = 2**63 - 1

# name: (currency, merchant (None: a system account), wallet rule, credit rule, livemode)
ACCOUNTS = {
    "wallet_a": ("BHD", MERCHANT, True, False, True),
    "wallet_b": ("BHD", MERCHANT, True, False, True),
    "funding": ("BHD", MERCHANT, False, False, True),
    "other_wallet": ("BHD", OTHER_MERCHANT, True, False, True),
    "other_funding": ("BHD", OTHER_MERCHANT, False, False, True),
    "clearing": ("BHD", None, False, False, True),
    "liability": ("BHD", None, False, True, True),  # credits_must_not_exceed_debits
    "usd_wallet": ("USD", MERCHANT, True, False, True),
    "usd_funding": ("USD", MERCHANT, False, False, True),
    # The same merchant's test money, and fincore's own test account.
    "test_wallet": ("BHD", MERCHANT, True, False, False),
    "test_funding": ("BHD", MERCHANT, False, False, False),
    "test_clearing": ("BHD", None, False, False, False),
}
NAMES = sorted(ACCOUNTS)
# Accounts named by role: none exists at the start.
ROLES = {
    "role_pending": AccountRef(AccountRole.MERCHANT_PENDING, "BHD", True, merchant_id=MERCHANT),  # may not owe
    "role_fees": AccountRef(AccountRole.FEE_REVENUE, "BHD", True),
    "role_test_clearing": AccountRef(AccountRole.CONNECTOR_CLEARING, "BHD", False, name="card"),
    "role_usd_nostro": AccountRef(AccountRole.NOSTRO, "USD", True, name="NBB"),
}
EVERY_NAME = NAMES + sorted(ROLES)


def where(name: str) -> tuple[str, bool]:
    """The account's currency and mode."""
    return (ROLES[name].currency, ROLES[name].livemode) if name in ROLES else (ACCOUNTS[name][0], ACCOUNTS[name][4])


# --- the reference model ----------------------------------------------------------------------


@dataclass
class ModelAccount:
    currency: str
    merchant: UUID | None
    wallet: bool  # debits (pending + posted) may not exceed posted credits
    limited_credits: bool  # credits (pending + posted) may not exceed posted debits
    livemode: bool
    by_role: bool = False  # a merchant's or fincore's account of the chart, not a customer's
    frozen: bool = False
    closed: bool = False
    balances: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # dp, dpo, cp, cpo

    @property
    def customer(self) -> bool:
        return self.merchant is not None and not self.by_role


@dataclass
class ModelTransfer:
    id: UUID
    kind: Kind
    debit: UUID
    credit: UUID
    amount: int
    currency: str
    merchant: UUID | None
    expires_at: datetime | None
    request: tuple
    livemode: bool
    code: str  # as written: a post, void, expiry or reversal sent without one takes its original's
    reference: str


class Refused(Exception):
    def __init__(self, result: Result) -> None:
        self.result = result


def request_fields(spec: TransferSpec) -> tuple:
    """What a retry must repeat to be the same request (besides code and reference: see
    ``same_request``)."""
    return (spec.kind, spec.debit_account_id, spec.credit_account_id, spec.amount, spec.currency, spec.pending_id,
            spec.reverses_id)


def inherits(spec: TransferSpec) -> bool:
    """Whether a blank code or reference of the spec takes its original's (a resolution or reversal)."""
    return spec.kind in (Kind.POST_PENDING, Kind.VOID_PENDING, Kind.EXPIRE_PENDING) or spec.reverses_id is not None


def same_request(first: ModelTransfer, spec: TransferSpec) -> bool:
    return first.request == request_fields(spec) and all(
        asked == written or (inherits(spec) and not asked)
        for asked, written in ((spec.code, first.code), (spec.reference, first.reference))
    )


@dataclass
class Ledger:
    accounts: dict[UUID, ModelAccount]
    transfers: dict[UUID, ModelTransfer] = field(default_factory=dict)
    client_ids: dict[tuple[UUID | None, bool, str], UUID] = field(default_factory=dict)
    resolved: dict[UUID, Kind] = field(default_factory=dict)  # pending id: how its hold ended
    reversed: set[UUID] = field(default_factory=set)
    touched: set[UUID] = field(default_factory=set)  # accounts a posted transfer moved money on

    def _visible_account(self, account_id: UUID | None, spec: TransferSpec, missing: Result) -> ModelAccount:
        account = self.accounts.get(account_id)
        if account is None or account.livemode != spec.livemode or (
            spec.merchant_scope and (not account.customer or account.merchant != spec.merchant_id)
        ):
            raise Refused(missing)
        return account

    def _visible_transfer(self, transfer_id: UUID | None, spec: TransferSpec, missing: Result) -> ModelTransfer:
        transfer = self.transfers.get(transfer_id)
        if transfer is None or transfer.livemode != spec.livemode or (
            spec.merchant_scope and transfer.merchant != spec.merchant_id
        ):
            raise Refused(missing)
        return transfer

    def apply(self, spec: TransferSpec, new_id: UUID | None, now: datetime) -> Outcome:
        """One transfer: its outcome, with its effect on this ledger (raises Refused, changing nothing)."""
        key = (spec.merchant_id, spec.livemode, spec.client_id)
        if key in self.client_ids:
            first = self.transfers[self.client_ids[key]]
            if same_request(first, spec):
                return Outcome(Result.EXISTS, first.id)
            raise Refused(Result.EXISTS_WITH_DIFFERENT_FIELDS)
        if spec.timeout_seconds is not None and spec.timeout_seconds <= 0:
            raise Refused(Result.TIMEOUT_MUST_BE_POSITIVE)

        held = 0  # the hold a resolution ends
        code, reference = spec.code, spec.reference
        if spec.kind in (Kind.POST_PENDING, Kind.VOID_PENDING, Kind.EXPIRE_PENDING):
            pending = self._visible_transfer(spec.pending_id, spec, Result.PENDING_NOT_FOUND)
            if pending.kind != Kind.PENDING:
                raise Refused(Result.NOT_PENDING)
            if pending.id in self.resolved:
                if self.resolved[pending.id] == Kind.EXPIRE_PENDING and spec.kind != Kind.EXPIRE_PENDING:
                    raise Refused(Result.PENDING_EXPIRED)
                raise Refused(Result.PENDING_ALREADY_RESOLVED)
            timed_out = pending.expires_at is not None and now >= pending.expires_at
            if spec.kind == Kind.EXPIRE_PENDING and not timed_out:
                raise Refused(Result.PENDING_NOT_EXPIRED)
            if spec.kind != Kind.EXPIRE_PENDING and timed_out:
                raise Refused(Result.PENDING_EXPIRED)
            amount = held = pending.amount
            if spec.kind == Kind.POST_PENDING and spec.amount is not None:
                if spec.amount <= 0:
                    raise Refused(Result.AMOUNT_MUST_BE_POSITIVE)
                if spec.amount > pending.amount:
                    raise Refused(Result.EXCEEDS_PENDING_AMOUNT)
                amount = spec.amount
            debit_id, credit_id, currency = pending.debit, pending.credit, pending.currency
            code, reference = code or pending.code, reference or pending.reference
        elif spec.reverses_id is not None:
            original = self._visible_transfer(spec.reverses_id, spec, Result.REVERSED_NOT_FOUND)
            if original.kind not in (Kind.IMMEDIATE, Kind.POST_PENDING):
                raise Refused(Result.NOT_REVERSIBLE)
            if original.id in self.reversed:
                raise Refused(Result.ALREADY_REVERSED)
            debit_id, credit_id, currency, amount = original.credit, original.debit, original.currency, original.amount
            code, reference = code or original.code, reference or original.reference
        else:
            if spec.amount is None or spec.amount <= 0:
                raise Refused(Result.AMOUNT_MUST_BE_POSITIVE)
            if spec.timeout_seconds is not None and spec.kind != Kind.PENDING:
                raise Refused(Result.TIMEOUT_REQUIRES_PENDING)
            debit_id, credit_id, currency, amount = (spec.debit_account_id, spec.credit_account_id, spec.currency,
                                                     spec.amount)
        if debit_id == credit_id:
            raise Refused(Result.SAME_ACCOUNT)
        debit = self._visible_account(debit_id, spec, Result.DEBIT_ACCOUNT_NOT_FOUND)
        credit = self._visible_account(credit_id, spec, Result.CREDIT_ACCOUNT_NOT_FOUND)
        if debit.currency != currency or credit.currency != currency:
            raise Refused(Result.CURRENCY_MISMATCH)
        if spec.kind not in (Kind.VOID_PENDING, Kind.EXPIRE_PENDING):
            if debit.closed or credit.closed:
                raise Refused(Result.ACCOUNT_CLOSED)
            if debit.frozen or credit.frozen:
                raise Refused(Result.ACCOUNT_FROZEN)

        pending_change = {Kind.IMMEDIATE: 0, Kind.PENDING: amount}.get(spec.kind, -held)
        posted_change = amount if spec.kind in (Kind.IMMEDIATE, Kind.POST_PENDING) else 0
        dp, dpo = debit.balances[0] + pending_change, debit.balances[1] + posted_change
        cp, cpo = credit.balances[2] + pending_change, credit.balances[3] + posted_change
        if dp + dpo > BIG or cp + cpo > BIG:
            raise Refused(Result.OVERFLOWS)
        if debit.wallet and dp + dpo > debit.balances[3]:
            raise Refused(Result.EXCEEDS_CREDITS)
        if credit.limited_credits and cp + cpo > credit.balances[1]:
            raise Refused(Result.EXCEEDS_DEBITS)

        debit.balances[0:2] = [dp, dpo]
        credit.balances[2:4] = [cp, cpo]
        # A member of a chain that fails later has no id from the engine: any will do.
        new_id = new_id or uuid.uuid4()
        expires_at = now + timedelta(seconds=spec.timeout_seconds) if spec.kind == Kind.PENDING and \
            spec.timeout_seconds else None
        self.transfers[new_id] = ModelTransfer(new_id, spec.kind, debit_id, credit_id, amount, currency,
                                               spec.merchant_id, expires_at, request_fields(spec), spec.livemode,
                                               code, reference)
        self.client_ids[key] = new_id
        if spec.pending_id is not None:
            self.resolved[spec.pending_id] = spec.kind
        if spec.reverses_id is not None:
            self.reversed.add(spec.reverses_id)
        self.touched |= {debit_id, credit_id}
        return Outcome(Result.OK, new_id)

    def post(self, specs: list[TransferSpec], reported: list[Outcome], now: datetime) -> list[Outcome]:
        """A batch: each chain (linked specs up to the first unlinked one) all or nothing. The
        ids of new transfers are the engine's (``reported``): the model cannot guess them."""
        outcomes: list[Outcome] = []
        start = 0
        while start < len(specs):
            end = start
            while end < len(specs) - 1 and specs[end].linked:
                end += 1
            chain = range(start, end + 1)
            if specs[end].linked:  # linked to nothing: the batch ended inside the chain
                outcomes += [Outcome(Result.LINKED_EVENT_FAILED)] * (len(chain) - 1)
                outcomes.append(Outcome(Result.LINKED_EVENT_CHAIN_OPEN))
            else:
                saved = copy.deepcopy((self.accounts, self.transfers, self.client_ids, self.resolved, self.reversed,
                                       self.touched))
                applied: list[Outcome] = []
                try:
                    for index in chain:
                        applied.append(self.apply(specs[index], reported[index].transfer_id, now))
                except Refused as refused:
                    (self.accounts, self.transfers, self.client_ids, self.resolved, self.reversed,
                     self.touched) = saved
                    failed_at = start + len(applied)
                    applied = [
                        Outcome(refused.result if index == failed_at or len(chain) == 1
                                else Result.LINKED_EVENT_FAILED)
                        for index in chain
                    ]
                outcomes += applied
            start = end + 1
        return outcomes


# --- the machine --------------------------------------------------------------------------------

amounts = st.integers(min_value=-1, max_value=600)
account_names = st.sampled_from(NAMES)
timeouts = st.one_of(st.none(), st.integers(min_value=-1, max_value=120))  # now and then not positive
# Who asks: fincore itself, or a merchant, with or without merchant scope; in live or test mode.
callers = st.sampled_from(
    [(None, False, True)] * 3 + [(MERCHANT, False, True)] * 2 + [(MERCHANT, True, True), (OTHER_MERCHANT, True, True)]
    + [(None, False, False), (MERCHANT, False, False), (MERCHANT, True, False)]
)
LIVE = (None, False, True)  # fincore itself, in live money
picks = st.integers(min_value=0, max_value=10_000)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        self.traveller = time_machine.travel(START, tick=False)
        self.clock = self.traveller.start()
        self.ids: dict[str, UUID] = {}
        for name, (currency, merchant, wallet, limited_credits, livemode) in ACCOUNTS.items():
            self.ids[name] = Account.objects.create(
                currency=currency, merchant_id=merchant, created_at=START, livemode=livemode,
                owner_type=Account.OwnerType.CUSTOMER if merchant else Account.OwnerType.SYSTEM,
                code=(Account.Code.WALLET if wallet else Account.Code.FUNDING) if merchant else Account.Code.SUSPENSE,
                name="" if merchant else name, debits_must_not_exceed_credits=wallet,
                credits_must_not_exceed_debits=limited_credits,
            ).pk
        # The model knows an account named by role by an id of its own: the engine's is only
        # known once a transfer opened the account.
        self.role_ids = {name: uuid.uuid4() for name in ROLES}
        self.names = {account_id: name for name, account_id in (self.ids | self.role_ids).items()}
        self.model = Ledger({
            self.ids[name]: ModelAccount(currency, merchant, wallet, limited_credits, livemode)
            for name, (currency, merchant, wallet, limited_credits, livemode) in ACCOUNTS.items()
        } | {
            self.role_ids[name]: ModelAccount(ref.currency, ref.merchant_id, ref.rules.debits_must_not_exceed_credits,
                                              ref.rules.credits_must_not_exceed_debits, ref.livemode, by_role=True)
            for name, ref in ROLES.items()
        })
        self.sent: list[TransferSpec] = []
        self.resolutions: list[TransferSpec] = []  # posts, voids and reversals that went through
        self.history: list[tuple[datetime, dict[UUID, list[int]]]] = []
        self.serial = 0
        # Money to move from the start: each wallet funded, the liability account owing.
        self.post([
            self.transfer_spec("funding", "wallet_a", 1_000, LIVE),
            self.transfer_spec("funding", "wallet_b", 300, LIVE),
            self.transfer_spec("other_funding", "other_wallet", 500, LIVE),
            self.transfer_spec("usd_funding", "usd_wallet", 500, LIVE),
            self.transfer_spec("liability", "clearing", 800, LIVE),
            self.transfer_spec("test_funding", "test_wallet", 700, (None, False, False)),
        ])
        self.sent.clear()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.savepoint.__exit__(None, None, None)
        self.traveller.stop()

    # --- helpers
    @property
    def now(self) -> datetime:
        return clock.now()

    def client_id(self) -> str:
        self.serial += 1
        return f"op-{self.serial}"

    def transfer_spec(self, debit: str, credit: str, amount: int, caller, **fields) -> TransferSpec:
        """A transfer between two accounts of ACCOUNTS (by id) or ROLES (by role)."""
        merchant_id, scope, livemode = caller
        currency = fields.pop("currency", None) or (ROLES[debit].currency if debit in ROLES else ACCOUNTS[debit][0])
        client_id = self.client_id()
        # Most carry a reference, for the posts, voids and reversals sent without one to take.
        fields.setdefault("reference", "" if self.serial % 3 == 0 else f"ref {client_id}")
        for side, name in (("debit", debit), ("credit", credit)):
            fields[f"{side}_account_ref" if name in ROLES else f"{side}_account_id"] = (
                ROLES[name] if name in ROLES else self.ids[name])
        return TransferSpec(
            client_id=client_id, amount=amount, currency=currency, merchant_id=merchant_id, merchant_scope=scope,
            livemode=livemode, code="transfer" if self.serial % 2 else "", **fields,
        )

    def as_the_model_names_it(self, spec: TransferSpec) -> TransferSpec:
        """The spec with its accounts named by role named by the model's ids for them."""
        if spec.debit_account_ref is None and spec.credit_account_ref is None:
            return spec
        by_ref = {ref: self.role_ids[name] for name, ref in ROLES.items()}
        return replace(
            spec,
            debit_account_id=by_ref[spec.debit_account_ref] if spec.debit_account_ref else spec.debit_account_id,
            credit_account_id=by_ref[spec.credit_account_ref] if spec.credit_account_ref else spec.credit_account_id,
            debit_account_ref=None, credit_account_ref=None,
        )

    def stored_id(self, account_id: UUID) -> UUID | None:
        """The engine's id for one of the model's accounts; None for a role's it has not opened."""
        name = self.names[account_id]
        if name not in ROLES:
            return account_id
        account = selectors.role_account_get(ref=ROLES[name])
        return account.pk if account else None

    def pick_transfer(self, pick: int, kinds: tuple[Kind, ...] | None = None) -> UUID:
        """A known transfer (of ``kinds`` when there is one), or now and then one that does not exist."""
        if pick % 11 == 0:
            return uuid.uuid4()
        if pick % 7 == 0:
            kinds = None  # any transfer: most are not pending, or not reversible
        candidates = sorted(t.id for t in self.model.transfers.values() if kinds is None or t.kind in kinds)
        candidates = candidates or sorted(self.model.transfers)
        return candidates[pick % len(candidates)] if candidates else uuid.uuid4()

    def post(self, specs: list[TransferSpec], *, through_service: bool = False) -> list[Outcome]:
        if through_service:
            [spec] = specs
            try:
                posted = services.transfer_create(spec=spec)
            except services.TransferRefused as refused:
                reported = [Outcome(refused.result)]
            else:
                reported = [Outcome(Result.OK if posted.created else Result.EXISTS, posted.transfer.pk)]
        else:
            reported = engine.post(specs)
        expected = self.model.post([self.as_the_model_names_it(spec) for spec in specs], reported, self.now)
        assert [o.result for o in reported] == [o.result for o in expected], [s.client_id for s in specs]
        for got, wanted in zip(reported, expected, strict=True):
            if wanted.result == Result.EXISTS:
                assert got.transfer_id == wanted.transfer_id
            elif wanted.result != Result.OK:
                assert got.transfer_id is None
        self.resolutions += [s for s, o in zip(specs, reported, strict=True) if o.result == Result.OK and inherits(s)]
        created = [o.transfer_id for o in reported if o.result == Result.OK]
        written = Transfer.objects.in_bulk(created)
        assert {
            t: (written[t].livemode, written[t].code, written[t].reference) for t in created
        } == {
            t: (self.model.transfers[t].livemode, self.model.transfers[t].code, self.model.transfers[t].reference)
            for t in created
        }
        self.sent += specs
        return reported

    # --- rules
    @rule(debit=account_names, credit=account_names, amount=amounts, caller=callers, via=st.booleans())
    def immediate(self, debit, credit, amount, caller, via):
        self.post([self.transfer_spec(debit, credit, amount, caller)], through_service=via)

    @rule(members=st.lists(st.tuples(st.sampled_from(sorted(ROLES)), picks, st.booleans(), amounts, st.booleans(),
                                     timeouts), min_size=1, max_size=3),
          merchant=st.sampled_from([None, MERCHANT]), via=st.booleans())
    def named_by_role(self, members, merchant, via):
        """Transfers (one, or a chain) to or from accounts named by role, mostly with an account of
        the same currency and mode on the other side (by id or by role)."""
        specs = []
        for index, (role, pick, role_pays, amount, hold, timeout) in enumerate(members):
            ref = ROLES[role]
            alike = [name for name in EVERY_NAME if name != role and where(name) == (ref.currency, ref.livemode)]
            other = alike[pick % len(alike)] if pick % 5 else EVERY_NAME[pick % len(EVERY_NAME)]
            debit, credit = (role, other) if role_pays else (other, role)
            specs.append(self.transfer_spec(
                debit, credit, amount, (merchant, False, ref.livemode), kind=Kind.PENDING if hold else Kind.IMMEDIATE,
                timeout_seconds=timeout if hold else None, linked=index < len(members) - 1,
            ))
        if via and len(specs) == 1:
            self.post(specs, through_service=True)
        else:
            # A transfer of its own after them: the batch writes, and must open no account for a refused one.
            self.post([*specs, self.transfer_spec("funding", "wallet_a", 1, LIVE)])

    @rule(debit=account_names, credit=account_names, amount=amounts, caller=callers, timeout=timeouts)
    def pending(self, debit, credit, amount, caller, timeout):
        self.post([self.transfer_spec(debit, credit, amount, caller, kind=Kind.PENDING, timeout_seconds=timeout)])

    @rule(debit=account_names, amount=amounts, timeout=st.integers(min_value=1, max_value=90))
    def hold_that_expires(self, debit, amount, timeout):
        currency, livemode = ACCOUNTS[debit][0], ACCOUNTS[debit][4]
        if not livemode:
            credit = "test_clearing" if debit != "test_clearing" else "test_funding"
        else:
            credit = "clearing" if currency == "BHD" and debit != "clearing" else "usd_funding"
        self.post([self.transfer_spec(debit, credit, amount, (None, False, livemode), kind=Kind.PENDING,
                                      timeout_seconds=timeout)])

    @rule(debit=account_names, amount=amounts, timeout=st.integers(min_value=1, max_value=60),
          wait=st.integers(min_value=0, max_value=90), job_first=st.booleans(),
          resolution=st.sampled_from([Kind.POST_PENDING, Kind.VOID_PENDING]))
    def hold_then_time_passes_then_resolve(self, debit, amount, timeout, wait, job_first, resolution):
        self.hold_that_expires(debit, amount, timeout)
        livemode = ACCOUNTS[debit][4]
        created = self.model.client_ids.get((None, livemode, f"op-{self.serial}"))
        if wait:
            self.time_passes(wait, job_first)
        self.post([TransferSpec(client_id=self.client_id(), kind=resolution, pending_id=created or uuid.uuid4(),
                                livemode=livemode)])

    @rule(debit=account_names, credit=account_names, amount=amounts, caller=callers,
          currency=st.sampled_from(["BHD", "USD"]))
    def in_a_currency(self, debit, credit, amount, caller, currency):
        self.post([self.transfer_spec(debit, credit, amount, caller, currency=currency)])

    @rule(pick=picks, caller=callers, part=st.one_of(st.none(), st.integers(min_value=-1, max_value=450)),
          via=st.booleans())
    def post_pending(self, pick, caller, part, via):
        merchant_id, scope, livemode = caller
        spec = TransferSpec(client_id=self.client_id(), kind=Kind.POST_PENDING, amount=part, merchant_id=merchant_id,
                            merchant_scope=scope, livemode=livemode,
                            pending_id=self.pick_transfer(pick, (Kind.PENDING,)))
        self.post([spec], through_service=via)

    @rule(pick=picks, caller=callers)
    def void_pending(self, pick, caller):
        merchant_id, scope, livemode = caller
        spec = TransferSpec(client_id=self.client_id(), kind=Kind.VOID_PENDING, merchant_id=merchant_id,
                            merchant_scope=scope, livemode=livemode,
                            pending_id=self.pick_transfer(pick, (Kind.PENDING,)))
        self.post([spec])

    @rule(pick=picks, caller=callers, via=st.booleans())
    def reverse(self, pick, caller, via):
        merchant_id, scope, livemode = caller
        spec = TransferSpec(client_id=self.client_id(), merchant_id=merchant_id, merchant_scope=scope,
                            livemode=livemode, code="reversal",
                            reverses_id=self.pick_transfer(pick, (Kind.IMMEDIATE, Kind.POST_PENDING)))
        self.post([spec], through_service=via)

    @rule(members=st.lists(st.tuples(account_names, account_names, amounts, st.booleans()), min_size=2, max_size=4),
          caller=callers, left_open=st.sampled_from([False, False, False, True]))
    def linked_chain(self, members, caller, left_open):
        specs = [
            self.transfer_spec(debit, credit, amount, caller, kind=Kind.PENDING if hold else Kind.IMMEDIATE,
                               linked=True)
            for debit, credit, amount, hold in members
        ]
        if left_open:  # the batch ends inside the chain
            self.post(specs)
            return
        specs[-1] = replace(specs[-1], linked=False)
        # A transfer of its own after the chain: a failed chain must not take it down.
        tail = self.transfer_spec("funding", "wallet_a", 1, LIVE)
        self.post([*specs, tail])

    @precondition(lambda self: self.sent)
    @rule(pick=picks, changed=st.booleans())
    def retry(self, pick, changed):
        first = self.sent[pick % len(self.sent)]
        again = replace(first, linked=False)
        if changed:
            again = replace(again, reference="changed") if first.amount is None else replace(again,
                                                                                            amount=first.amount + 1)
        self.post([again])

    @precondition(lambda self: self.resolutions)
    @rule(pick=picks, spelled_out=st.booleans())
    def retry_a_resolution(self, pick, spelled_out):
        """Again a post, void or reversal that went through: as sent (its blanks took its original's
        code and reference), or with what it took spelled out."""
        first = self.resolutions[pick % len(self.resolutions)]
        again = replace(first, linked=False)
        if spelled_out:
            written = self.model.transfers[self.model.client_ids[(first.merchant_id, first.livemode, first.client_id)]]
            again = replace(again, code=written.code, reference=written.reference)
        self.post([again])

    @rule(name=account_names, flags=st.sampled_from([(True, False), (False, True), (False, False), (True, True)]))
    def set_flags(self, name, flags):
        frozen, closed = flags
        Account.objects.filter(pk=self.ids[name]).update(frozen=frozen, closed=closed)
        account = self.model.accounts[self.ids[name]]
        account.frozen, account.closed = frozen, closed

    @rule(seconds=st.integers(min_value=1, max_value=150), then_expire=st.booleans())
    def time_passes(self, seconds, then_expire):
        self.history.append((self.now, {i: list(a.balances) for i, a in self.model.accounts.items()}))
        self.clock.shift(timedelta(seconds=seconds))
        if then_expire:
            self.holds_expire()

    @rule()
    def holds_expire(self):
        due = sorted(
            (t for t in self.model.transfers.values()
             if t.kind == Kind.PENDING and t.id not in self.model.resolved and t.expires_at
             and t.expires_at <= self.now),
            key=lambda t: t.expires_at,
        )
        assert services.pending_transfers_expire() == len(due)
        expiries = {t.pending_id: t for t in Transfer.objects.filter(kind=Kind.EXPIRE_PENDING,
                                                                      pending_id__in=[p.id for p in due])}
        for pending in due:
            expiry = expiries[pending.id]
            spec = TransferSpec(client_id=f"{RESERVED_CLIENT_ID_PREFIX}expire:{pending.id}", kind=Kind.EXPIRE_PENDING,
                                pending_id=pending.id, merchant_id=pending.merchant, livemode=pending.livemode)
            assert self.model.apply(spec, expiry.pk, self.now) == Outcome(Result.OK, expiry.pk)
            model_expiry = self.model.transfers[expiry.pk]
            assert (expiry.client_id, expiry.livemode, expiry.code, expiry.reference) == (
                spec.client_id, model_expiry.livemode, model_expiry.code, model_expiry.reference)

    @precondition(lambda self: self.history)
    @rule(pick=picks)
    def balances_as_of_an_earlier_instant(self, pick):
        instant, balances = self.history[pick % len(self.history)]
        for account_id, expected in balances.items():
            stored_id = self.stored_id(account_id)
            if stored_id is None:
                assert expected == [0, 0, 0, 0]
                continue
            account = Account.objects.get(pk=stored_id)
            for moment in (instant, instant + timedelta(milliseconds=500)):
                found = selectors.account_balances(account=account, as_of=moment)
                assert [found.debits_pending, found.debits_posted, found.credits_pending, found.credits_posted] \
                    == expected, (self.names[account_id], moment)
        before_anything = selectors.account_balances(account=account, as_of=START - timedelta(seconds=1))
        assert (before_anything.debits_posted, before_anything.credits_posted) == (0, 0)

    # --- after every step
    @invariant()
    def balances_equal_the_model(self):
        stored = {
            row[0]: list(row[1:])
            for row in Account.objects.filter(pk__in=self.ids.values()).values_list(
                "id", "debits_pending", "debits_posted", "credits_pending", "credits_posted")
        }
        expected = {account_id: account.balances for account_id, account in self.model.accounts.items()
                    if account_id in self.ids.values()}
        assert {self.names[i]: b for i, b in stored.items()} == {self.names[i]: b for i, b in expected.items()}

    @invariant()
    def role_accounts_are_opened_by_the_first_transfer_posted_to_them(self):
        for name, ref in ROLES.items():
            model_id = self.role_ids[name]
            opened = Account.objects.filter(code=ref.role, currency=ref.currency, livemode=ref.livemode,
                                            merchant_id=ref.merchant_id, name=ref.name)
            if model_id in self.model.touched:
                [account] = opened
                assert [account.debits_pending, account.debits_posted, account.credits_pending,
                        account.credits_posted] == self.model.accounts[model_id].balances, name
                assert (account.owner_type, account.debits_must_not_exceed_credits,
                        account.credits_must_not_exceed_debits) == (
                    ref.rules.owner, ref.rules.debits_must_not_exceed_credits,
                    ref.rules.credits_must_not_exceed_debits)
            else:
                assert not opened.exists(), name

    @invariant()
    def the_ledger_verifies(self):
        report = selectors.ledger_verify()
        assert report.ok, report.problem


@pytest.mark.django_db
def test_the_engine_agrees_with_the_model_step_by_step():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(max_examples=100, stateful_step_count=20, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )
