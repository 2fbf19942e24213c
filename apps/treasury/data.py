"""Treasury's vocabulary for the apps above it."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Nostro:
    """A bank account of fincore's, as a payment file names its debtor."""

    code: str
    currency: str
    bank_name: str
    bic: str
    iban: str
    account_name: str
