"""Payment rows written straight to their tables, many at once, for tests that only read them
(admin lists and exports): no connector is called and nothing is posted to the ledger."""

from datetime import UTC, datetime

from apps.core.ids import uuid7
from apps.payments.models import Capture, Payment, Refund


def bulk_payments(merchant, count: int, *, created_at: datetime | None = None, **fields) -> list[Payment]:
    """Payment rows as the admin reads them, written straight to the table (no connector, no ledger):
    lists and exports only read them."""
    moment = created_at or datetime(2030, 1, 5, 9, 0, tzinfo=UTC)
    rows = [Payment(id=uuid7(), merchant_id=merchant.pk, livemode=False, amount=fields.get("amount", 1000 + n),
                    currency=fields.get("currency", "BHD"), country="BH", method="card",
                    payment_method={"type": "card", "token": "tok_visa"}, priority=5,
                    reference=fields.get("reference", f"order-{n}"), created_at=moment, updated_at=moment)
            for n in range(count)]
    return Payment.objects.bulk_create(rows)


def bulk_refunds_and_captures(payments: list[Payment]) -> None:
    moment = datetime(2030, 1, 5, 9, 0, tzinfo=UTC)
    Refund.objects.bulk_create(
        Refund(id=uuid7(), payment=payment, merchant_id=payment.merchant_id, livemode=False, amount=1,
               currency=payment.currency, connector="alpha", idempotency_key=f"re-{payment.pk}", created_by="test",
               created_at=moment, updated_at=moment) for payment in payments)
    Capture.objects.bulk_create(
        Capture(id=uuid7(), payment=payment, kind="capture", amount=1, connector="alpha",
                idempotency_key=f"cap-{payment.pk}", created_by="test", created_at=moment, updated_at=moment)
        for payment in payments)
