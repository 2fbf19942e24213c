"""Reads for sweeps: what a nostro holds in the ledger, and a nostro as a file names it."""

from datetime import datetime
from typing import Any
from uuid import UUID

from apps.core import ids
from apps.ledger import data as ledger_data
from apps.ledger import selectors as ledger_selectors
from apps.treasury.models import Sweep


def nostro_money_at_bank(*, code: str, currency: str) -> int:
    """What the ledger says nostro ``code`` holds at its bank, minor units: a nostro is debited when
    money arrives and credited when it leaves, so debits - credits; credits still pending (money
    on its way out) are already gone."""
    balances = ledger_selectors.role_account_balances(
        ref=ledger_data.AccountRef(ledger_data.AccountRole.NOSTRO, currency, True, name=code))
    return balances.debits_posted - balances.credits_posted - balances.credits_pending




def sweep_requested(*, sweep_id: Any) -> Sweep | None:
    """The sweep ``sweep_id`` names while it waits for approval (a maker-checker request's argument)."""
    try:
        return Sweep.objects.filter(pk=UUID(str(sweep_id)), status=Sweep.Status.REQUESTED).first()
    except ValueError:
        return None


def sweep_sent(*, public_id: str) -> Sweep | None:
    """The sent sweep ``public_id`` (``swp_…``) names, with both nostros."""
    sweep_id = ids.decode("swp", public_id)
    if sweep_id is None:
        return None
    return (Sweep.objects.select_related("from_nostro", "to_nostro")
            .filter(pk=sweep_id, status=Sweep.Status.SENT).first())


def sweeps_sent_since(*, since: datetime) -> list[Sweep]:
    """Sweeps sent at or after ``since``, oldest first, with both nostros."""
    return list(Sweep.objects.select_related("from_nostro", "to_nostro")
                .filter(status=Sweep.Status.SENT, sent_at__gte=since).order_by("sent_at"))
