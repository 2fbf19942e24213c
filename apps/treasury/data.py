"""Treasury's vocabulary for the apps above it."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Nostro:
    """A bank account of fincore's, as a payment file names its debtor."""

    code: str
    currency: str
    bank_name: str
    bic: str
    iban: str
    account_name: str


@dataclass(frozen=True, slots=True)
class SweepInstruction:
    """A sweep as the bank is asked to carry it out: ``amount`` minor units of ``currency`` from
    the ``debtor`` nostro to the ``creditor`` nostro, both fincore's own, on ``execution_date``.
    ``public_id`` (``swp_…``) names the file; ``end_to_end_id`` comes back on both statements."""

    public_id: str
    end_to_end_id: str
    amount: int
    currency: str
    execution_date: date
    debtor: Nostro
    creditor: Nostro
    created_at: datetime


SweepFileWriter = Callable[[SweepInstruction], bytes]
"""Writes the instruction file of a sweep (a pain.001): registered by the app that owns the writer."""
