"""Requests to the ledger API, public ids, and the proof that a refused request wrote nothing."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.core import ids
from apps.core.actors import Actor
from apps.events.outbox.models import OutboxMessage
from apps.ledger import data, services
from apps.ledger.models import Account, Entry, Transfer

ACCOUNTS = "/api/v1/accounts"
TRANSFERS = "/api/v1/transfers"
BATCH = "/api/v1/transfers/batch"
SETUP_ACTOR = Actor.system("tests.ledger.setup")


def acc(pk: UUID) -> str:
    return ids.encode("acc", pk)


def tr(pk: UUID) -> str:
    return ids.encode("tr", pk)


def pk_of(public_id: str) -> UUID:
    prefix = public_id.partition("_")[0]
    decoded = ids.decode(prefix, public_id)
    assert decoded is not None, public_id
    return decoded


def money(posted: int, pending: int, available: int, currency: str = "BHD") -> dict[str, Any]:
    """A balance as the API shows it."""
    return {"currency": currency, "posted": posted, "pending": pending, "available": available}


# --- requests ---------------------------------------------------------------------------


def open_account(client: APIClient, *, currency: str = "BHD", **fields: Any) -> dict[str, Any]:
    response = client.post(ACCOUNTS, {"currency": currency, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def transfer_body(debit: str, credit: str, amount: Any, **fields: Any) -> dict[str, Any]:
    return {"debit_account": debit, "credit_account": credit, "amount": amount, "currency": "BHD", **fields}


def post_transfer(client: APIClient, debit: str, credit: str, amount: Any, *, headers: dict[str, str] | None = None,
                  **fields: Any):
    return client.post(TRANSFERS, transfer_body(debit, credit, amount, **fields), format="json", **(headers or {}))


def transfer(client: APIClient, debit: str, credit: str, amount: int, **fields: Any) -> dict[str, Any]:
    """Post a transfer that must succeed; returns its body."""
    response = post_transfer(client, debit, credit, amount, **fields)
    assert response.status_code == 201, response.content
    return response.json()


def act(client: APIClient, transfer_id: str, action: str, body: dict[str, Any] | None = None, **headers: str):
    """POST /transfers/{id}/post|void|reverse."""
    return client.post(f"{TRANSFERS}/{transfer_id}/{action}", body or {}, format="json", **headers)


def get_transfer(client: APIClient, transfer_id: str) -> dict[str, Any]:
    response = client.get(f"{TRANSFERS}/{transfer_id}")
    assert response.status_code == 200, response.content
    return response.json()


def balance(client: APIClient, account_id: str, **query: str) -> dict[str, Any]:
    response = client.get(f"{ACCOUNTS}/{account_id}/balance", query)
    assert response.status_code == 200, response.content
    return response.json()


# --- setup without the API (for many rows: the API's rate limit is 100 requests a second) ---


def account_opened(merchant_id: UUID, *, currency: str = "BHD", reference: str = "",
                   allow_overdraft: bool = False, livemode: bool = False) -> Account:
    """A customer account opened by the service: in test mode unless asked, as the suite's
    ``merchant_client`` holds a test key and sees test money only."""
    return services.customer_account_open(merchant_id=merchant_id, currency=currency, actor=SETUP_ACTOR,
                                          reference=reference, allow_overdraft=allow_overdraft, livemode=livemode)


def transfer_posted(merchant_id: UUID, debit: Account, credit: Account, amount: int, *,
                    pending: bool = False, reference: str = "") -> Transfer:
    """A transfer posted by the service, in the mode of its accounts."""
    spec = data.TransferSpec(
        client_id=services.new_client_id(), kind=data.Kind.PENDING if pending else data.Kind.IMMEDIATE,
        debit_account_id=debit.pk, credit_account_id=credit.pk, amount=amount, currency=debit.currency,
        merchant_id=merchant_id, merchant_scope=True, livemode=debit.livemode, reference=reference, code="transfer",
        created_by=SETUP_ACTOR.label,
    )
    return services.transfer_create(spec=spec).transfer


# --- nothing written ------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerSnapshot:
    transfers: int
    entries: int
    accounts: int
    audit_events: int
    outbox_messages: int
    balances: tuple[tuple[UUID, int, int, int, int], ...]


def ledger_snapshot() -> LedgerSnapshot:
    """Everything a refused request must leave as it was."""
    return LedgerSnapshot(
        transfers=Transfer.objects.count(),
        entries=Entry.objects.count(),
        accounts=Account.objects.count(),
        audit_events=AuditEvent.objects.count(),
        outbox_messages=OutboxMessage.objects.count(),
        balances=tuple(
            Account.objects.order_by("id").values_list(
                "id", "debits_pending", "debits_posted", "credits_pending", "credits_posted"
            )
        ),
    )
