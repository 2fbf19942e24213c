"""Reads of treasury."""

from apps.treasury.data import Nostro
from apps.treasury.models import NostroAccount


def payout_nostro(*, currency: str) -> Nostro | None:
    """The account ``currency``'s payouts leave from, if one is set."""
    account = NostroAccount.objects.filter(currency=currency, pays_out=True).first()
    return None if account is None else nostro_of(account)


def payout_currencies() -> list[str]:
    """The currencies some nostro pays out."""
    return list(NostroAccount.objects.filter(pays_out=True).order_by("currency").values_list("currency", flat=True))


def nostro_of(account: NostroAccount) -> Nostro:
    """A nostro account as a payment file names its party."""
    return Nostro(code=account.code, currency=account.currency, bank_name=account.bank_name, bic=account.bic,
                  iban=account.iban, account_name=account.account_name)


def nostro(*, code: str) -> Nostro | None:
    account = NostroAccount.objects.filter(code=code).first()
    return None if account is None else nostro_of(account)


def nostro_by_iban(*, account: str) -> Nostro | None:
    """The nostro whose IBAN is ``account``, spaces and case ignored (IBANs are stored compact, upper case)."""
    compact = "".join(account.split()).upper()
    found = NostroAccount.objects.filter(iban=compact).first() if compact else None
    return None if found is None else nostro_of(found)


def nostro_codes() -> list[str]:
    return list(NostroAccount.objects.order_by("code").values_list("code", flat=True))


def nostro_threshold(*, code: str) -> int | None:
    """Nostro ``code``'s low-liquidity threshold in minor units, None when it has none (or is unknown)."""
    return NostroAccount.objects.filter(code=code).values_list("low_liquidity_threshold", flat=True).first()
