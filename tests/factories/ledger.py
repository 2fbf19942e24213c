"""Ledger accounts and transfer requests for tests.

Customer accounts are opened through ``customer_account_open`` (so each has its audit event);
accounts with rules no service opens (``credits_must_not_exceed_debits``) are created directly.
Money always enters through the engine, from a funding account, so every balance has its entries.
"""

import itertools
import uuid
from typing import Any
from uuid import UUID

from apps.core.actors import Actor
from apps.ledger import data, engine, services
from apps.ledger.models import Account

FACTORY_ACTOR = Actor.system("tests.factories")

_client_ids = itertools.count(1)


def client_id(prefix: str = "t") -> str:
    """A client id no other test request uses."""
    return f"{prefix}-{next(_client_ids)}-{uuid.uuid4().hex[:8]}"


def wallet(*, currency: str = "BHD", merchant_id: UUID | None = None, reference: str = "",
           livemode: bool = True) -> Account:
    """A customer wallet: ``debits_must_not_exceed_credits``; live money unless ``livemode=False``."""
    return services.customer_account_open(
        merchant_id=merchant_id or uuid.uuid4(), currency=currency, actor=FACTORY_ACTOR, reference=reference,
        livemode=livemode,
    )


def funding(*, currency: str = "BHD", merchant_id: UUID | None = None, reference: str = "",
            livemode: bool = True) -> Account:
    """A customer funding account: no overdraft rule, so it can go negative."""
    return services.customer_account_open(
        merchant_id=merchant_id or uuid.uuid4(), currency=currency, actor=FACTORY_ACTOR, reference=reference,
        allow_overdraft=True, livemode=livemode,
    )


def account(*, currency: str = "BHD", code: str = Account.Code.SUSPENSE, **fields: Any) -> Account:
    """A system account with any flags (``credits_must_not_exceed_debits=True``, ...)."""
    from apps.core import clock

    return Account.objects.create(
        currency=currency, owner_type=Account.OwnerType.SYSTEM, code=code, name=fields.pop("name", client_id("acct")),
        created_at=clock.now(), **fields,
    )


def spec(
    debit: Account | UUID | data.AccountRef | None,
    credit: Account | UUID | data.AccountRef | None,
    amount: int | None,
    *,
    currency: str | None = "BHD",
    **fields: Any,
) -> data.TransferSpec:
    """A transfer request naming its accounts by id (an Account or its id) or by role (an
    AccountRef); the client id is fresh unless given."""
    fields.setdefault("client_id", client_id())
    for side, account in (("debit", debit), ("credit", credit)):
        if isinstance(account, data.AccountRef):
            fields[f"{side}_account_ref"] = account
        else:
            fields[f"{side}_account_id"] = getattr(account, "pk", account)
    return data.TransferSpec(amount=amount, currency=currency, **fields)


def post_one(debit: Account | UUID | data.AccountRef | None, credit: Account | UUID | data.AccountRef | None,
             amount: int | None, **fields: Any) -> data.Outcome:
    """Post a single transfer through the engine and return its outcome."""
    return engine.post([spec(debit, credit, amount, **fields)])[0]


def fund(target: Account, amount: int, *, source: Account | None = None) -> Account:
    """Credit ``target`` with ``amount`` from ``source`` (a new funding account of its mode by default);
    returns the source."""
    source = source or funding(currency=target.currency, livemode=target.livemode)
    outcome = post_one(source, target, amount, currency=target.currency, livemode=target.livemode)
    assert outcome.result == data.Result.OK, outcome
    return source


def balances(account_or_id: Account | UUID) -> tuple[int, int, int, int]:
    """(debits_pending, debits_posted, credits_pending, credits_posted) as stored now."""
    return tuple(
        Account.objects.filter(pk=getattr(account_or_id, "pk", account_or_id))
        .values_list("debits_pending", "debits_posted", "credits_pending", "credits_posted")
        .get()
    )
