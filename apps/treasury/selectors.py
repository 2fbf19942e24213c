"""Reads of treasury."""

from apps.treasury.data import Nostro
from apps.treasury.models import NostroAccount


def payout_nostro(*, currency: str) -> Nostro | None:
    """The account ``currency``'s payouts leave from, if one is set."""
    account = NostroAccount.objects.filter(currency=currency, pays_out=True).first()
    if account is None:
        return None
    return Nostro(code=account.code, currency=account.currency, bank_name=account.bank_name, bic=account.bic,
                  iban=account.iban, account_name=account.account_name)


def payout_currencies() -> list[str]:
    """The currencies some nostro pays out."""
    return list(NostroAccount.objects.filter(pays_out=True).order_by("currency").values_list("currency", flat=True))
