"""The books proven against the bank.

After a statement, the nostro's ledger balance as of the statement's end must equal the closing
balance the bank printed. The statement's end is the last instant of its closing date in Bahrain
(the bank's day, not the file's creation time, which may come hours later or carry no zone).

The ledger balance counts every posted transfer whose *effective* time is at or before that
instant, whenever it was posted: ``account_balances(as_of=)`` reads the running balance by posting
time, and the transfers posted later with an earlier effective time (a break's adjustment, dated
the day the bank booked the line) are added, and those posted earlier but effective later taken
off. Money at the bank is debits - credits of the nostro account.

Statements with no closing balance (camt.054 notifications, MT942 interim reports) are not proven.
A difference is an alert: journaled and published as ``reconciliation.balance_differs`` with the
figures. Each run is a new :class:`BalanceProof` row, so a re-proof after adjustments is kept
beside the first.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from apps.audit import selectors as audit_selectors
from apps.audit.services import audit_record
from apps.core import clock
from apps.core.actors import Actor
from apps.events.outbox.services import event_publish
from apps.ledger import selectors as ledger_selectors
from apps.ledger.data import AccountRef, AccountRole
from apps.reconciliation.exceptions import StatementNotProvable
from apps.reconciliation.models import BalanceProof, BankStatement, ProofStatus
from apps.reconciliation.selectors import proofs as proof_selectors
from apps.reconciliation.selectors.proofs import AgreedBalance
from apps.reconciliation.services.breaks import breaks_sync

BALANCE_DIFFERS = "reconciliation.balance_differs"
NIGHTLY_ACTOR = Actor.system("reconciliation.prove")
_TICK = timedelta(microseconds=1)


def statement_end(statement: BankStatement) -> datetime:
    """The last instant of the statement's closing date in Bahrain."""
    return clock.day_end(statement.closing_date)


def nostro_ledger_balance(*, nostro_code: str, currency: str, as_of: datetime) -> int:
    """Money at the bank by the books (debits - credits, posted) counting every transfer effective
    at or before ``as_of``."""
    account = ledger_selectors.role_account_get(ref=AccountRef(AccountRole.NOSTRO, currency, True, name=nostro_code))
    if account is None:
        return 0
    at = ledger_selectors.account_balances(account=account, as_of=as_of)
    balance = at.debits_posted - at.credits_posted
    # Posted after as_of yet effective by then (adjustments), and posted by as_of yet effective after.
    late = ledger_selectors.account_statement(account=account, since=as_of + _TICK).filter(
        transfer__effective_at__lte=as_of)
    early = ledger_selectors.account_statement(account=account, until=as_of + _TICK).filter(
        transfer__effective_at__gt=as_of)
    for entry in late:
        balance += entry.posted_change if entry.side == "D" else -entry.posted_change
    for entry in early:
        balance -= entry.posted_change if entry.side == "D" else -entry.posted_change
    return balance


def balance_prove(*, statement_id: object, actor: Actor = NIGHTLY_ACTOR) -> BalanceProof:
    """Compare the nostro's ledger balance at the statement's end with its closing balance; record
    the proof, and on a difference raise the alert (journal + outbox) in the same transaction.
    Raises BankStatement.DoesNotExist, StatementNotProvable (no closing balance or date)."""
    statement = BankStatement.objects.get(pk=statement_id)
    if statement.closing_balance is None or statement.closing_date is None:
        raise StatementNotProvable(f"Statement {statement} ({statement.format}) has no closing balance: only "
                                   "end-of-day statements (camt.053, MT940) are proven.")
    as_of = statement_end(statement)
    with transaction.atomic():
        ledger_balance = nostro_ledger_balance(nostro_code=statement.nostro_id, currency=statement.currency,
                                               as_of=as_of)
        difference = ledger_balance - statement.closing_balance
        proof = BalanceProof.objects.create(
            statement=statement, nostro_id=statement.nostro_id, currency=statement.currency, as_of=as_of,
            ledger_balance=ledger_balance, statement_balance=statement.closing_balance, difference=difference,
            status=ProofStatus.AGREED if difference == 0 else ProofStatus.DIFFERS, proved_at=clock.now(),
            proved_by=actor.label)
        figures = {"statement": str(statement.pk), "statement_id": statement.statement_id,
                   "nostro": statement.nostro_id, "currency": statement.currency,
                   "closing_date": statement.closing_date.isoformat(), "as_of": as_of.isoformat(),
                   "ledger_balance": ledger_balance, "statement_balance": statement.closing_balance,
                   "difference": difference}
        if difference:
            audit_record(actor=actor, action=BALANCE_DIFFERS, object_type="reconciliation.balanceproof",
                         object_id=str(proof.pk), after=figures)
            event_publish(event_type=BALANCE_DIFFERS, data={"proof": str(proof.pk), **figures})
        else:
            audit_record(actor=actor, action="reconciliation.balance_agreed",
                         object_type="reconciliation.balanceproof", object_id=str(proof.pk), after=figures)
    return proof


def statements_prove(*, nostro_code: str | None = None, actor: Actor = NIGHTLY_ACTOR) -> list[BalanceProof]:
    """Prove every end-of-day statement not proven yet, of one nostro or all (a re-proof is asked
    for by name)."""
    waiting = BankStatement.objects.filter(closing_balance__isnull=False, closing_date__isnull=False,
                                           balance_proofs__isnull=True)
    if nostro_code is not None:
        waiting = waiting.filter(nostro_id=nostro_code)
    waiting = waiting.order_by("closing_date", "imported_at").values_list("pk", flat=True)
    return [balance_prove(statement_id=pk, actor=actor) for pk in waiting]


@dataclass(frozen=True)
class NightlyProofReport:
    """What the nightly proof reports: the ledger's and the audit chain's last verification, the
    statements proven tonight, and each nostro's last agreed balance."""

    ledger_ok: bool | None
    ledger_verified_at: datetime | None
    audit_ok: bool | None
    audit_verified_at: datetime | None
    proven: int
    differing: int
    agreed_balances: tuple[AgreedBalance, ...]

    def lines(self) -> list[str]:
        from apps.core.money import Money

        return [
            f"ledger verified: {self.ledger_ok} at {self.ledger_verified_at}",
            f"audit chain verified: {self.audit_ok} at {self.audit_verified_at}",
            f"statements proven: {self.proven}, differing: {self.differing}",
            *(f"{balance.nostro}: {Money(balance.balance, balance.currency).format()} agreed on "
              f"{balance.closing_date.isoformat()}" for balance in self.agreed_balances),
        ]


def nightly_proof(*, actor: Actor = NIGHTLY_ACTOR) -> NightlyProofReport:
    """After the ledger's and the audit chain's nightly verification: open and resolve breaks,
    prove the statements not proven yet, and journal the report (``reconciliation.nightly_proof``)
    with each nostro's last agreed balance and date."""
    breaks_sync()
    proofs = statements_prove(actor=actor)
    ledger = ledger_selectors.latest_verification()
    audit = audit_selectors.audit_latest_verification()
    report = NightlyProofReport(
        ledger_ok=ledger.ok if ledger else None, ledger_verified_at=ledger.finished_at if ledger else None,
        audit_ok=audit.ok if audit else None, audit_verified_at=audit.verified_at if audit else None,
        proven=len(proofs), differing=sum(proof.status == ProofStatus.DIFFERS for proof in proofs),
        agreed_balances=tuple(proof_selectors.last_agreed_balances()),
    )
    with transaction.atomic():
        audit_record(actor=actor, action="reconciliation.nightly_proof", object_type="reconciliation.balanceproof",
                     object_id="nightly", after={
                         "ledger_ok": report.ledger_ok, "audit_ok": report.audit_ok, "proven": report.proven,
                         "differing": report.differing,
                         "agreed_balances": [{"nostro": b.nostro, "currency": b.currency, "balance": b.balance,
                                              "closing_date": b.closing_date.isoformat()}
                                             for b in report.agreed_balances]})
    return report
