"""Fixtures of the payments tests: scripted connectors (for the state machines, independent of
routing's scoring) and helpers to read what the ledger, the journal and the outbox got."""

import dataclasses
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest

from apps.audit.models import AuditEvent
from apps.core import ids
from apps.events.outbox.models import OutboxMessage
from apps.events.webhooks.models import WebhookEvent
from apps.ledger.models import Account, Transfer
from apps.merchants.models import Merchant
from apps.payments import connectors, services
from apps.payments.models import Payment
from apps.routing.data import ConnectorResult, Operation, Outcome, PaymentDescription, RoutingDecision
from tests.factories import ledger as ledger_factories
from tests.factories.merchants import FACTORY_ACTOR

APPROVED = ConnectorResult(Outcome.APPROVED, reference="ref-1")


def declined(code: str = "do_not_honor", retryable: bool = False) -> ConnectorResult:
    return ConnectorResult(Outcome.DECLINED, error_code=code, message=f"declined: {code}", retryable=retryable)


def error(code: str = "connector_unavailable", retryable: bool = True) -> ConnectorResult:
    return ConnectorResult(Outcome.ERROR, error_code=code, message=f"error: {code}", retryable=retryable)


UNKNOWN = ConnectorResult(Outcome.UNKNOWN, error_code="timeout", message="no answer")
PENDING = ConnectorResult(Outcome.PENDING, reference="wire-1")


@dataclass
class FakeConnector:
    """Answers each operation from its script (first in, first out), approving by default;
    records every call."""

    name: str
    scripts: dict[str, list[ConnectorResult]] = field(default_factory=lambda: defaultdict(list))
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    resends_safely: bool = False

    def answer(self, operation: str, *results: ConnectorResult) -> None:
        self.scripts[operation].extend(results)

    def _next(self, operation: str, arguments: dict[str, Any]) -> ConnectorResult:
        self.calls.append((operation, arguments))
        script = self.scripts[operation]
        return script.pop(0) if script else APPROVED

    def authorize(self, **arguments: Any) -> ConnectorResult:
        return self._next("authorize", arguments)

    def capture(self, **arguments: Any) -> ConnectorResult:
        return self._next("capture", arguments)

    def void(self, **arguments: Any) -> ConnectorResult:
        return self._next("void", arguments)

    def refund(self, **arguments: Any) -> ConnectorResult:
        return self._next("refund", arguments)

    def inquire(self, **arguments: Any) -> ConnectorResult:
        return self._next("inquire", arguments)

    def operations(self, operation: str) -> list[dict[str, Any]]:
        return [arguments for name, arguments in self.calls if name == operation]


@dataclass
class FakeRouting:
    """Routing as payments sees it (apps.payments.connectors), with scripted connectors: routes in
    ``order``, and calls them as routing's gateway would (a not-received answer is resend-safe
    where the connector ``resends_safely``; an authorization's answer is reported to health)."""

    connectors: dict[str, FakeConnector]
    order: list[str]
    decisions: list[tuple[PaymentDescription, frozenset[str]]] = field(default_factory=list)
    reports: list[tuple[str, Outcome]] = field(default_factory=list)

    def _decision(self, exclude: Any = ()) -> RoutingDecision:
        candidates = tuple(name for name in self.order if name not in exclude)
        return RoutingDecision(
            candidates=candidates, strategy="priority", rule="test", reason="in the test's order" if candidates
            else "no connector is eligible", scores={name: 0.9 for name in candidates},
            excluded={name: "already tried" for name in exclude},
        )

    def preview(self, *, description: PaymentDescription) -> RoutingDecision:
        return self._decision()

    def decide(self, *, description: PaymentDescription, exclude: Any = ()) -> RoutingDecision:
        self.decisions.append((description, frozenset(exclude)))
        return self._decision(exclude)

    def call(self, *, connector: str, operation: Operation, description: PaymentDescription | None = None,
             **arguments: Any) -> ConnectorResult:
        fake = self.connectors[connector]
        result = getattr(fake, operation.value)(**arguments)
        if result.not_received and fake.resends_safely:
            result = dataclasses.replace(result, resend_safe=True)
        if operation == Operation.AUTHORIZE and description is not None:
            self.reports.append((connector, result.outcome))
        return result

    def __getitem__(self, name: str) -> FakeConnector:
        return self.connectors[name]


@pytest.fixture
def routing(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRouting]:
    fake = FakeRouting({name: FakeConnector(name) for name in ("alpha", "beta", "wallet")}, ["alpha", "beta"])
    monkeypatch.setattr(connectors, "preview", fake.preview)
    monkeypatch.setattr(connectors, "decide", fake.decide)
    monkeypatch.setattr(connectors, "call", fake.call)
    yield fake


CARD = {"type": "card", "token": "tok_success"}
WALLET_FUNDS = 20000


@pytest.fixture
def customer_wallet(merchant: Merchant) -> Account:
    """A test-mode customer wallet of the merchant's, holding WALLET_FUNDS."""
    wallet = ledger_factories.wallet(merchant_id=merchant.pk, livemode=False)
    ledger_factories.fund(wallet, WALLET_FUNDS)
    return wallet


def wallet_method(wallet: Account) -> dict[str, str]:
    return {"type": "wallet", "account": ids.encode("acc", wallet.pk)}


def create_payment(merchant: Merchant, *, livemode: bool = False, amount: int = 12500, currency: str = "BHD",
                   payment_method: dict[str, Any] | None = None, capture_method: str = "automatic",
                   **fields: Any) -> Payment:
    return services.payment_create(
        merchant_id=merchant.pk, livemode=livemode, amount=amount, currency=currency, country="BH",
        payment_method=payment_method or CARD, capture_method=capture_method, actor=FACTORY_ACTOR, **fields,
    )


def processed(merchant: Merchant, **fields: Any) -> Payment:
    payment = create_payment(merchant, **fields)
    services.payment_process(payment_id=payment.pk)
    payment.refresh_from_db()
    return payment


def merchant_account(payment: Payment, code: str) -> Account:
    return Account.objects.get(merchant_id=payment.merchant_id, owner_type="merchant", code=code,
                               currency=payment.currency, livemode=payment.livemode)


def posted(account: Account) -> int:
    account.refresh_from_db()
    return account.credits_posted - account.debits_posted


def clearing(connector: str, currency: str = "BHD", livemode: bool = False) -> Account:
    return Account.objects.get(owner_type="system", code="connector_clearing", name=connector, currency=currency,
                               livemode=livemode)


def payment_transfers(payment: Payment) -> list[Transfer]:
    return list(Transfer.objects.filter(reference=ids.encode("pay", payment.pk)).order_by("created_at", "id"))


def webhook_types(payment: Payment) -> list[str]:
    public = ids.encode("pay", payment.pk)
    return [event.type for event in WebhookEvent.objects.order_by("created_at", "id")
            if event.data["object"].get("id") == public or event.data["object"].get("payment") == public]


def journal(object_id: UUID) -> list[str]:
    return list(AuditEvent.objects.filter(object_id=str(object_id)).order_by("id").values_list("action", flat=True))


def outbox_tasks() -> list[tuple[str, dict[str, Any], int]]:
    """The outbox's messages but compliance's (a merchant made by the factories is screened on
    compliance's queue): what the payments services sent."""
    return list(OutboxMessage.objects.exclude(queue="compliance").order_by("id")
                .values_list("task_name", "kwargs", "priority"))
