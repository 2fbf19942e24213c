"""A bank statement as reconciliation reads it, whatever the file it came in (camt.053, camt.054,
MT940, MT942, a bank's CSV): plain Python, the one shape every statement adapter returns and the
import stores. Amounts are integer minor units of the statement's currency, signed from the
account holder's side: a credit (money in) is positive, a debit (money out) negative.
"""

from dataclasses import dataclass
from datetime import date, datetime


class StatementFormat:
    CAMT_053 = "camt.053"  # bank to customer statement (end of day)
    CAMT_054 = "camt.054"  # bank to customer debit/credit notification (no balances)
    MT940 = "mt940"  # SWIFT customer statement (end of day)
    MT942 = "mt942"  # SWIFT interim transaction report (intraday, no opening balance)
    CSV = "csv"  # a bank's CSV export, read through its saved column mapping

    CHOICES = ((CAMT_053, "camt.053"), (CAMT_054, "camt.054"), (MT940, "MT940"), (MT942, "MT942"),
               (CSV, "CSV (column mapping)"))


@dataclass(frozen=True, slots=True)
class Balance:
    amount: int  # signed minor units: negative when the account is overdrawn
    currency: str
    on: date


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One booked movement. ``bank_reference`` is the bank's own id for it (camt ``AcctSvcrRef``,
    MT940 :61: bank reference); ``reference`` what the payer wrote (remittance information, :86:
    or the :61: customer reference); ``end_to_end_id`` the id the payment carried end to end."""

    amount: int
    currency: str
    booking_date: date
    value_date: date | None = None
    reference: str = ""
    end_to_end_id: str = ""
    bank_reference: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""  # an IBAN, or the account number as the bank gives it
    description: str = ""


@dataclass(frozen=True, slots=True)
class ParsedStatement:
    """One statement of a file (a file may hold several: one per account or per day).

    ``statement_id`` and ``sequence`` identify it at its bank (camt ``Stmt/Id`` and
    ``ElctrncSeqNb``; MT940 :20: and :28C:); ``account`` is the IBAN or account number the bank
    names (camt ``Acct/Id``, MT940 :25:)."""

    format: str
    version: str  # "001.08" for camt; "" for the others
    statement_id: str
    sequence: str
    account: str
    currency: str
    opening_balance: Balance | None
    closing_balance: Balance | None
    created_at: datetime | None
    lines: tuple[StatementLine, ...]


class StatementRefused(ValueError):
    """A file that is not a statement fincore can read, with where (``line``, 1-based, when known)
    and why: an import refuses it whole and stores nothing."""

    def __init__(self, reason: str, *, line: int | None = None) -> None:
        self.reason, self.line = reason, line
        super().__init__(f"line {line}: {reason}" if line else reason)
