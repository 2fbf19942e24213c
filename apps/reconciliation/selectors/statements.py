"""Reads of reconciliation (and of the nostros it imports for, through treasury's selectors)."""

from apps.reconciliation.models import BankStatement
from apps.treasury.data import Nostro
from apps.treasury.selectors import nostros as treasury_selectors


def nostro(*, code: str) -> Nostro | None:
    return treasury_selectors.nostro(code=code)


def nostro_by_iban(*, account: str) -> Nostro | None:
    return treasury_selectors.nostro_by_iban(account=account)


def nostro_codes() -> list[str]:
    return treasury_selectors.nostro_codes()


def statement_imported(*, nostro_code: str, statement_id: str, sequence: str) -> BankStatement | None:
    return BankStatement.objects.filter(nostro_id=nostro_code, statement_id=statement_id, sequence=sequence).first()


def file_imported(*, sha256: str) -> BankStatement | None:
    return BankStatement.objects.filter(sha256=sha256).order_by("file_index").first()
