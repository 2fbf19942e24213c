"""Reads of balance proofs: each nostro's last agreed balance, statements whose books differ."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import OuterRef, Subquery

from apps.reconciliation.models import BalanceProof, ProofStatus


@dataclass(frozen=True)
class AgreedBalance:
    """A nostro's last balance the books and the bank agreed on."""

    nostro: str
    currency: str
    balance: int
    closing_date: date
    as_of: datetime
    proved_at: datetime


def last_agreed_balances() -> list[AgreedBalance]:
    """For each nostro, its newest agreed proof (the latest statement end, the latest run)."""
    proofs = (BalanceProof.objects.filter(status=ProofStatus.AGREED).select_related("statement")
              .order_by("nostro_id", "-as_of", "-proved_at").distinct("nostro_id"))
    return [AgreedBalance(nostro=proof.nostro_id, currency=proof.currency, balance=proof.statement_balance,
                          closing_date=proof.statement.closing_date, as_of=proof.as_of, proved_at=proof.proved_at)
            for proof in proofs]


def latest_proofs():
    """Each proven statement's newest proof (its standing), newest statements first."""
    newest = BalanceProof.objects.filter(statement_id=OuterRef("statement_id")).order_by("-proved_at").values("pk")[:1]
    return BalanceProof.objects.filter(pk=Subquery(newest)).select_related("statement").order_by("-as_of")


def statements_differing() -> list[BalanceProof]:
    """The statements whose newest proof differs."""
    return list(latest_proofs().filter(status=ProofStatus.DIFFERS))
