"""Merchants ready to be paid out (a bank account, money on available), payouts made through the
services, and the ledger balances and rows the payout tests read."""

from typing import Any

from apps.audit.models import AuditEvent
from apps.core.actors import Actor
from apps.events.outbox.models import OutboxMessage
from apps.events.webhooks.models import WebhookEvent
from apps.ledger import selectors as ledger_selectors
from apps.ledger.data import AccountRef, AccountRole
from apps.ledger.models import Transfer
from apps.merchants import services as merchants_services
from apps.merchants.models import Merchant
from apps.payments import services
from apps.payments.models import Payout
from apps.treasury.models import NostroAccount
from tests.factories import ledger as ledger_factories
from tests.factories.merchants import MerchantFactory

SETTLEMENT = Actor.system("settlement.run")
IBAN, BIC = "BH67BMAG00001299123456", "BMAGBHBM"
NOSTRO = "nbb-bhd-01"


def funded_merchant(available: int = 50_000, *, currency: str = "BHD", livemode: bool = False,
                    **merchant_fields: Any) -> Merchant:
    """A merchant with a bank account in ``currency`` (set now: held for 24 h) and ``available``
    minor units on its available balance (from suspense, as a settlement run would leave it)."""
    merchant = MerchantFactory(currencies=[currency], **merchant_fields)
    merchants_services.bank_account_set(merchant_id=merchant.pk, currency=currency, iban=IBAN, bic=BIC,
                                        beneficiary_name=merchant.legal_name, actor=SETTLEMENT, reason="onboarding")
    credit(merchant, available, currency=currency, livemode=livemode)
    return merchant


def payout_nostro(*, code: str = NOSTRO, currency: str = "BHD") -> NostroAccount:
    """Our account at National Bank of Bahrain that pays ``currency`` out (the payout files' debtor)."""
    return NostroAccount.objects.create(code=code, currency=currency, bank_name="National Bank of Bahrain",
                                        bic="NBOBBHBM", iban="BH96NBOB00000099887766", account_name="Fincore B.S.C.",
                                        pays_out=True)


def credit(merchant: Merchant, amount: int, *, currency: str = "BHD", livemode: bool = False) -> None:
    outcome = ledger_factories.post_one(
        AccountRef(AccountRole.SUSPENSE, currency, livemode), account(AccountRole.MERCHANT_AVAILABLE, merchant,
                                                                      currency=currency, livemode=livemode),
        amount, currency=currency, livemode=livemode)
    assert outcome.result == "ok", outcome


def account(role: AccountRole, merchant: Merchant | None = None, *, currency: str = "BHD", livemode: bool = False,
            name: str = "") -> AccountRef:
    return AccountRef(role, currency, livemode, merchant_id=merchant.pk if merchant else None, name=name)


def balances(ref: AccountRef) -> tuple[int, int, int, int]:
    """(debits_pending, debits_posted, credits_pending, credits_posted) of the account now."""
    found = ledger_selectors.role_account_balances(ref=ref)
    return found.debits_pending, found.debits_posted, found.credits_pending, found.credits_posted


def available(merchant: Merchant, **fields: Any) -> int:
    return ledger_selectors.role_account_balances(ref=account(AccountRole.MERCHANT_AVAILABLE, merchant,
                                                              **fields)).available


def payout(merchant: Merchant, amount: int = 12_500, *, reference: str = "", livemode: bool = False,
           currency: str = "BHD") -> Payout:
    """The payout of a settlement line: by default the line of this merchant and amount (the whole
    id: a uuid7's leading hex digits are its creation time, shared by merchants made together)."""
    return services.payout_create(merchant_id=merchant.pk, livemode=livemode, currency=currency, amount=amount,
                                  settlement_reference=reference or f"stl_{merchant.pk.hex}_{amount}",
                                  actor=SETTLEMENT)


def written() -> dict[str, int]:
    """Everything a payout step may write, counted."""
    return {"payouts": Payout.objects.count(), "transfers": Transfer.objects.count(),
            "journal": AuditEvent.objects.count(), "webhooks": WebhookEvent.objects.count(),
            "outbox": OutboxMessage.objects.count()}


def webhooks(payout: Payout) -> list[tuple[str, str]]:
    """(type, status) of the webhook events about ``payout``, oldest first."""
    from apps.core import ids

    public = ids.encode("po", payout.pk)
    return [(event.type, event.data["object"]["status"]) for event in WebhookEvent.objects.order_by("created_at", "id")
            if event.data["object"].get("id") == public]
