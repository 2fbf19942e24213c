"""How many statements each step of a card payment sends through Django's connection: counts, not
times, so a change that adds a query to the payment path (a re-read of a row just written, a
check the next statement could make) fails here first. The ledger engine's own statements (one
round trip for the posting) go through its own cursor and are not counted.

In a test the services' transactions are savepoints: each step's first and last statements are
its BEGIN and COMMIT in production."""

from typing import Any

import pytest

from apps.compliance.monitoring import services as monitoring
from apps.core import ids
from apps.events.outbox.models import OutboxMessage
from apps.payments import services
from apps.payments.models import Payment
from tests.compliance.monitoring.helpers import rule
from tests.payments.conftest import create_payment

pytestmark = pytest.mark.django_db


def _monitor_event(payment: Payment) -> dict[str, Any]:
    """The payments.payment_succeeded event compliance's monitoring got for ``payment``."""
    message = OutboxMessage.objects.get(task_name="compliance.monitor_event",
                                        kwargs__event__data__object__id=ids.encode("pay", payment.pk))
    return message.kwargs["event"]


def test_a_card_payment_takes_a_bounded_number_of_statements_per_step(merchant, routing,
                                                                    django_assert_max_num_queries):
    large = rule("large_amount", {"amount": 100})
    warm = create_payment(merchant)  # the routing and monitoring snapshots are built once per process
    services.payment_process(payment_id=warm.pk)
    monitoring.event_monitor(event=_monitor_event(warm))  # the merchant's case is open from here on

    # BEGIN, the payment, its monitoring record, the rules' version, its audit row, the
    # payments.process message, COMMIT.
    with django_assert_max_num_queries(7):
        payment = create_payment(merchant)
    # The attempt: BEGIN, the payment locked, its attempts, the attempt, COMMIT. The answer:
    # BEGIN, the payment and its attempts locked, (the ledger's posting), the attempt, the
    # payment, the audit row, the webhook event, its endpoints, the outbox messages, COMMIT.
    with django_assert_max_num_queries(15):
        services.payment_process(payment_id=payment.pk)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED

    # BEGIN, the record (kept once), the rules' version, the windows, the merchant's profile (the
    # alert's subject), then the alert: its savepoint, the open case locked, the alert, its audit
    # row, the release; COMMIT.
    event = _monitor_event(payment)
    with django_assert_max_num_queries(11):
        raised = monitoring.event_monitor(event=event)
    assert [alert.rule for alert in raised] == [large]
