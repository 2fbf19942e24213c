"""routing.services.connector_call: the one way to a connector. It finds the adapter, calls it,
turns what the call raised into an outcome and feeds an authorization's answer to health."""

import uuid

import pytest

from apps.routing import adapters, selectors, services
from apps.routing.data import Operation, Outcome
from apps.routing.models import SandboxOperation
from tests.routing.conftest import describe

pytestmark = pytest.mark.django_db


def authorize(connector: str, token: str, *, key: str, description=None):
    payment = description or describe()
    return services.connector_call(
        connector=connector, operation=Operation.AUTHORIZE, description=payment, idempotency_key=key,
        payment_id=payment.payment_id, amount=payment.amount, currency=payment.currency,
        payment_method={"type": "card", "token": token}, capture=True,
    )


def test_an_authorization_is_made_and_counted_in_the_connectors_health():
    result = authorize("acquirer_alpha", "tok_success", key="k1")

    assert result.outcome == Outcome.APPROVED
    assert SandboxOperation.objects.get(idempotency_key="k1").connector == "acquirer_alpha"
    status = selectors.connector_statuses(["acquirer_alpha"])["acquirer_alpha"]
    assert (status.approved, status.attempts) == (1, 1)


def test_other_operations_are_not_counted():
    services.connector_call(connector="acquirer_alpha", operation=Operation.INQUIRE, idempotency_key="nothing")

    assert selectors.connector_statuses(["acquirer_alpha"])["acquirer_alpha"].attempts == 0


def test_a_connector_that_is_not_configured_is_a_retryable_error_and_nothing_is_sent():
    result = services.connector_call(connector="ghost", operation=Operation.INQUIRE, idempotency_key="k")

    assert (result.outcome, result.error_code, result.retryable) == (Outcome.ERROR, "connector_not_configured", True)


def test_a_call_that_raises_has_an_unknown_outcome(monkeypatch):
    def broken(self, **arguments):
        raise ConnectionResetError("peer went away")

    monkeypatch.setattr(adapters.ErrorCodeMappedAdapter, "authorize", broken)

    result = authorize("acquirer_alpha", "tok_success", key="k2")

    assert (result.outcome, result.error_code) == (Outcome.UNKNOWN, "call_raised")
    assert "peer went away" in result.message
    # An unknown outcome is a failure of the connector for its breaker and success rate.
    assert selectors.connector_statuses(["acquirer_alpha"])["acquirer_alpha"].attempts == 1


def test_a_request_the_sandbox_never_received_may_be_sent_again():
    answer = services.connector_call(connector="acquirer_alpha", operation=Operation.INQUIRE, idempotency_key="lost")

    assert (answer.outcome, answer.not_received, answer.resend_safe) == (Outcome.UNKNOWN, True, True)
    # Sent again with the same key, it is done once, however many times it is sent.
    payment = describe(payment_id=uuid.uuid4())
    first = authorize("acquirer_alpha", "tok_success", key="lost", description=payment)
    again = authorize("acquirer_alpha", "tok_success", key="lost", description=payment)
    assert first.reference == again.reference
    assert SandboxOperation.objects.filter(idempotency_key="lost").count() == 1


def test_a_rail_that_does_not_deduplicate_is_never_called_safe_to_resend(monkeypatch):
    original = adapters.ErrorCodeMappedAdapter.__init__

    def without_dedup(self, inner, error_codes):
        original(self, inner, error_codes)
        self.resends_safely = False

    monkeypatch.setattr(adapters.ErrorCodeMappedAdapter, "__init__", without_dedup)

    answer = services.connector_call(connector="acquirer_alpha", operation=Operation.INQUIRE, idempotency_key="lost")

    assert (answer.not_received, answer.resend_safe) == (True, False)
