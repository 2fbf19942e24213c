"""FX rates, merchants with BHD and USD wallets, and the proof that a refused conversion wrote nothing."""

from datetime import timedelta
from decimal import Decimal

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.core.actors import Actor
from apps.ledger import data
from apps.ledger import selectors as ledger_selectors
from apps.treasury.models import FxConversion, FxRate
from tests.factories import ledger as ledger_factories

STAFF = Actor.system("tests.treasury.fx")


def rate(base: str = "USD", quote: str = "BHD", mid: str = "0.376", spread: str = "0.0025", *,
         age_seconds: int = 60, max_age_seconds: int = 3600) -> FxRate:
    now = clock.now()
    return FxRate.objects.create(base_currency=base, quote_currency=quote, mid_rate=Decimal(mid),
                                 spread=Decimal(spread), source="test", as_of=now - timedelta(seconds=age_seconds),
                                 max_age_seconds=max_age_seconds, imported_at=now, imported_by="tests")


def key_actor(merchant_id, *, livemode: bool = False) -> Actor:
    return Actor.api_key(key_id="key-test", label="key test", merchant_id=str(merchant_id), livemode=livemode)


def funded_wallet(merchant_id, currency: str, amount: int, *, livemode: bool = False):
    wallet = ledger_factories.wallet(currency=currency, merchant_id=merchant_id, livemode=livemode)
    if amount:
        ledger_factories.fund(wallet, amount)
    return wallet


def posted(account) -> int:
    """Credits posted minus debits posted."""
    return ledger_selectors.account_balances(account=ledger_selectors.account_get(account_id=account.pk)).posted


def role_posted(role: data.AccountRole, currency: str, *, livemode: bool = False) -> int:
    return ledger_selectors.role_account_balances(ref=data.AccountRef(role, currency, livemode)).posted


def nothing_written(conversions_before: int, audit_before: int) -> bool:
    return FxConversion.objects.count() == conversions_before and AuditEvent.objects.count() == audit_before
