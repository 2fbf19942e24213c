"""Payments, their attempts (one per connector try), captures and voids, and refunds.

Amounts are integer minor units of the payment's currency. The money invariants of a payment
are CHECK constraints, so they hold for every writer:

    0 <= amount_refunded <= amount_refund_reserved <= amount_captured <= amount_authorized <= amount

``amount_refund_reserved`` counts pending and succeeded refunds: a new refund must fit in
``amount_captured - amount_refund_reserved``, under the payment's row lock and in the database.
Ledger money moves only through ``apps.ledger.services`` (client ids derived from the public
ids, so no replay can post twice); these rows keep the state machines.
"""

from django.db import models
from django.db.models import F, Q

from apps.core.ids import uuid7
from apps.core.money import Money


class Payment(models.Model):
    class Status(models.TextChoices):
        REQUIRES_REVIEW = "requires_review", "Requires review (held by compliance)"
        PROCESSING = "processing", "Processing"
        REQUIRES_CAPTURE = "requires_capture", "Requires capture"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    class CaptureMethod(models.TextChoices):
        AUTOMATIC = "automatic", "Automatic"
        MANUAL = "manual", "Manual"

    class Method(models.TextChoices):
        CARD = "card", "Card"
        INSTANT = "instant", "Instant (local rail)"
        WIRE = "wire", "Wire"
        WALLET = "wallet", "Wallet"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    merchant_id = models.UUIDField()
    livemode = models.BooleanField()
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    country = models.CharField(max_length=2)
    method = models.CharField(max_length=16, choices=Method.choices)
    payment_method = models.JSONField(help_text="A card token, an IBAN or a wallet; never a card number.")
    capture_method = models.CharField(max_length=16, choices=CaptureMethod.choices, default=CaptureMethod.AUTOMATIC)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PROCESSING)
    amount_authorized = models.BigIntegerField(default=0)
    amount_captured = models.BigIntegerField(default=0)
    captured_at = models.DateTimeField(
        null=True, blank=True, help_text="When the capture succeeded: the moment settlement counts it from."
    )
    amount_refund_reserved = models.BigIntegerField(
        default=0, help_text="Refunds pending or succeeded: what can no longer be refunded."
    )
    amount_refunded = models.BigIntegerField(default=0)
    reference = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    priority = models.PositiveSmallIntegerField(help_text="RabbitMQ priority of its messages on the payments queue.")
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    connector = models.CharField(max_length=64, blank=True, help_text="The connector whose attempt succeeded.")
    # The ledger hold a wallet payment with manual capture keeps on the customer's wallet.
    wallet_hold_id = models.UUIDField(null=True, blank=True)
    request_idempotency_key = models.CharField(
        max_length=255, blank=True,
        help_text="The Idempotency-Key of the API request that made it: one payment per key, merchant and mode.",
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            # A retried request, even one whose first try crashed after committing, finds its payment.
            models.UniqueConstraint(
                fields=["merchant_id", "livemode", "request_idempotency_key"], condition=~Q(request_idempotency_key=""),
                name="payment_once_per_idempotency_key",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_captured=0, captured_at__isnull=True)
                | Q(amount_captured__gt=0, captured_at__isnull=False),
                name="payment_captured_at_with_capture",
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0)
                & Q(amount_refunded__lte=F("amount_refund_reserved"))
                & Q(amount_refund_reserved__lte=F("amount_captured"))
                & Q(amount_captured__lte=F("amount_authorized"))
                & Q(amount_authorized__lte=F("amount")),
                name="payment_amounts_ordered",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["requires_review", "processing", "requires_capture", "succeeded", "failed",
                                        "canceled"]),
                name="payment_status_valid",
            ),
            models.CheckConstraint(condition=Q(method__in=["card", "instant", "wire", "wallet"]),
                                   name="payment_method_valid"),
            models.CheckConstraint(condition=Q(capture_method__in=["automatic", "manual"]),
                                   name="payment_capture_method_valid"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="payment_currency_iso"),
            models.CheckConstraint(condition=Q(country__regex=r"^[A-Z]{2}$"), name="payment_country_iso"),
            # What each status implies about the money: a payment held for review, processing or
            # failed holds nothing; one awaiting capture is authorized and not captured; a succeeded one is
            # captured; only a succeeded payment has refunds.
            models.CheckConstraint(
                condition=~Q(status__in=["requires_review", "processing", "failed"]) | Q(amount_authorized=0),
                name="payment_unauthorized_holds_nothing",
            ),
            # A payment held for review has not been routed: no connector has seen it.
            models.CheckConstraint(condition=~Q(status="requires_review") | Q(connector=""),
                                   name="payment_in_review_unrouted"),
            models.CheckConstraint(
                condition=~Q(status="requires_capture") | (Q(amount_authorized__gt=0) & Q(amount_captured=0)),
                name="payment_requires_capture_authorized",
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(amount_captured__gt=0), name="payment_succeeded_captured"
            ),
            models.CheckConstraint(
                condition=Q(status="succeeded") | Q(amount_captured=0, amount_refund_reserved=0),
                name="payment_only_succeeded_captured",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["succeeded", "requires_capture"]) | ~Q(connector=""),
                name="payment_authorized_by_a_connector",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant_id", "livemode", "-id"], name="payment_merchant_newest"),
            models.Index(fields=["merchant_id", "livemode", "reference"], name="payment_merchant_reference"),
            models.Index(fields=["updated_at"], condition=Q(status="processing"), name="payment_processing_since"),
            # The dashboard's volumes and the admin's "created today" lists read a range of it.
            models.Index(fields=["created_at"], name="payment_created_at"),
            # Settlement reads a business date's captures of one currency.
            models.Index(fields=["currency", "captured_at"], condition=Q(captured_at__isnull=False),
                         name="payment_captured"),
        ]

    def __str__(self) -> str:
        return f"{Money(self.amount, self.currency)} {self.method} ({self.status})"

    def attempts_known(self, attempts: list["PaymentAttempt"]) -> None:
        """Its attempts as the caller has them (read under its lock, or none yet for a new payment):
        ``self.attempts.all()``, as its representation reads them, then needs no query."""
        known = self.attempts.all()
        known._result_cache, known._prefetch_done = attempts, True
        self._prefetched_objects_cache = {"attempts": known}
        for attempt in attempts:
            attempt.payment = self


class PaymentAttempt(models.Model):
    """One try of a payment at one connector, with the routing decision that chose it.

    ``unknown`` (no answer) and ``pending`` (a rail that confirms later) are never retried:
    the janitor asks the connector (``inquire`` with ``idempotency_key``) on a backoff
    schedule until the outcome is final.
    """

    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing (the connector is being called)"
        AUTHORIZED = "authorized", "Authorized"
        CAPTURED = "captured", "Captured"
        DECLINED = "declined", "Declined"
        FAILED = "failed", "Failed (technical error)"
        UNKNOWN = "unknown", "Unknown (the connector did not say)"
        PENDING = "pending", "Pending (confirmed later by the rail)"
        CANCELED = "canceled", "Canceled (authorization voided)"

    IN_FLIGHT = (Status.PROCESSING, Status.UNKNOWN, Status.PENDING)
    UNRESOLVED = (Status.UNKNOWN, Status.PENDING)
    APPROVED = (Status.AUTHORIZED, Status.CAPTURED, Status.CANCELED)

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="attempts")
    sequence = models.PositiveSmallIntegerField()
    connector = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROCESSING)
    error_code = models.CharField(max_length=64, blank=True)
    message = models.CharField(max_length=500, blank=True)
    retryable = models.BooleanField(default=False)
    connector_reference = models.CharField(max_length=255, blank=True)
    routing = models.JSONField(
        default=dict, help_text="The routing decision: candidates, scores, excluded, strategy, rule, reason, explored."
    )
    idempotency_key = models.CharField(max_length=255, unique=True, help_text="Our key for the connector call.")
    next_inquiry_at = models.DateTimeField(null=True, blank=True)
    inquiries = models.PositiveIntegerField(default=0)
    not_received_answers = models.PositiveSmallIntegerField(
        default=0, help_text="Inquiries the connector answered with no record of the request at all."
    )
    needs_review = models.BooleanField(
        default=False,
        help_text="A person must act: the connector has not told the outcome for days, it took money after the "
                  "attempt was closed, or the ledger refused what it did.",
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payment", "sequence"], name="attempt_sequence_once"),
            # One connector call at a time per payment, and at most one that took the money.
            models.UniqueConstraint(
                fields=["payment"], condition=Q(status__in=["processing", "unknown", "pending"]),
                name="attempt_one_in_flight",
            ),
            models.UniqueConstraint(
                fields=["payment"], condition=Q(status__in=["authorized", "captured", "canceled"]),
                name="attempt_one_approved",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["processing", "authorized", "captured", "declined", "failed", "unknown",
                                        "pending", "canceled"]),
                name="attempt_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["unknown", "pending"]) | Q(next_inquiry_at__isnull=True),
                name="attempt_only_unresolved_inquired",
            ),
        ]
        indexes = [
            models.Index(fields=["next_inquiry_at"], condition=Q(status__in=["unknown", "pending"]),
                         name="attempt_inquiry_due"),
            models.Index(fields=["updated_at"], condition=Q(status="processing"), name="attempt_processing_since"),
            # The review queue (the dashboard counts it on every refresh): few rows of many.
            models.Index(fields=["updated_at"], condition=Q(needs_review=True), name="attempt_needs_review"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.connector} ({self.status})"


class Capture(models.Model):
    """A request to settle a payment's authorization: capture it (all or ``amount`` of it; the
    rest is released) or void it. At most one per payment that is not failed, so a payment is
    never captured twice, nor captured and voided."""

    class Kind(models.TextChoices):
        CAPTURE = "capture", "Capture"
        VOID = "void", "Void (cancel)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="captures")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount = models.BigIntegerField(help_text="Captured amount; for a void, the authorization released.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    connector = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=255, unique=True)
    connector_reference = models.CharField(max_length=255, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    message = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Connector calls made for it.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="capture_amount_positive"),
            models.CheckConstraint(condition=Q(kind__in=["capture", "void"]), name="capture_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=["pending", "succeeded", "failed"]),
                                   name="capture_status_valid"),
            models.UniqueConstraint(
                fields=["payment"], condition=Q(status__in=["pending", "succeeded"]), name="capture_once_per_payment"
            ),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="capture_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {Money(self.amount, self.payment.currency)} ({self.status})"


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    merchant_id = models.UUIDField()
    livemode = models.BooleanField()
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    connector = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=255, unique=True)
    connector_reference = models.CharField(max_length=255, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Connector calls made for it.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The ledger holds reserving the money: from merchant pending, then merchant available.
    pending_hold_id = models.UUIDField(null=True, blank=True)
    available_hold_id = models.UUIDField(null=True, blank=True)
    request_idempotency_key = models.CharField(
        max_length=255, blank=True,
        help_text="The Idempotency-Key of the API request that made it: one refund per key, merchant and mode.",
    )
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant_id", "livemode", "request_idempotency_key"], condition=~Q(request_idempotency_key=""),
                name="refund_once_per_idempotency_key",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=["pending", "succeeded", "failed"]),
                                   name="refund_status_valid"),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(next_attempt_at__isnull=True), name="refund_only_pending_retried"
            ),
        ]
        indexes = [
            models.Index(fields=["merchant_id", "livemode", "-id"], name="refund_merchant_newest"),
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="refund_due"),
            # Settlement reads a business date's succeeded refunds of one currency.
            models.Index(fields=["currency", "resolved_at"], condition=Q(status="succeeded"), name="refund_succeeded"),
        ]

    def __str__(self) -> str:
        return f"refund {Money(self.amount, self.currency)} ({self.status})"


class AttemptNeedingReview(PaymentAttempt):
    """Attempts a person must look at (the admin's review queue): the connector has not told the
    outcome for days, took money after the attempt was closed, or the ledger refused what it did."""

    class Meta:
        proxy = True
        verbose_name = "attempt needing review"
        verbose_name_plural = "attempts needing review"


class Payout(models.Model):
    """Money paid out of a merchant's available balance to its bank account (one per settlement line).

    ``pending -> in_transit -> paid | failed``, ``pending -> failed``, ``paid -> returned``. The
    ledger follows it: a hold merchant available -> payouts in transit when created, posted when
    sent; payouts in transit -> nostro when the bank confirms; back to merchant available when it
    fails or comes back. The bank account is copied in when the payout is made: a later change of
    the merchant's account never redirects it. The CHECK constraints below hold each status's
    timestamps and ledger transfers, and that a payout needing approval never leaves without it nor
    before its hold.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_TRANSIT = "in_transit", "In transit"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        RETURNED = "returned", "Returned"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    merchant_id = models.UUIDField()
    livemode = models.BooleanField()
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    bank_account_id = models.UUIDField(help_text="The merchant's bank account it was made for (ba_…).")
    iban = models.CharField("IBAN", max_length=34)
    bic = models.CharField("BIC", max_length=11)
    beneficiary_name = models.CharField(max_length=140)
    end_to_end_id = models.CharField(max_length=35, unique=True,
                                     help_text="The id banks carry with it end to end (pain.001/pain.002).")
    settlement_reference = models.CharField(max_length=64, unique=True,
                                            help_text="The settlement line it pays out (stl_…): one payout each.")
    hold_until = models.DateTimeField(help_text="It may not leave before (24 h after a bank account change).")
    needs_approval = models.BooleanField(default=False, help_text="At or above its currency's approval threshold.")
    # Compliance: a payout kept from leaving until an officer decides (a sanctions hit on its
    # beneficiary, an alert's hold), or while its merchant's payouts are held (MerchantPayoutHold).
    held_for_review = models.BooleanField(
        default=False, help_text="Held by a compliance alert (its beneficiary screened): an officer releases or "
                                 "declines it.")
    merchant_payouts_held = models.BooleanField(
        default=False, help_text="Its merchant's payouts are held (a compliance request): it leaves once lifted.")
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.CharField(max_length=200, blank=True)
    nostro = models.CharField(max_length=100, blank=True, help_text="Our bank account it left from.")
    file_reference = models.CharField(max_length=35, blank=True, help_text="The pain.001 message id it was sent in.")
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    # Routing: the instant rail or the payment file (the decision with its reasons), and the rail's
    # answers. A rail payout left from the connector's clearing account (``nostro`` is its name)
    # with its end-to-end id as the file reference and the rail's idempotency key.
    routing = models.JSONField(default=dict, blank=True, help_text="The last routing decision, with its reasons.")
    connector = models.CharField(max_length=50, blank=True,
                                 help_text="The instant rail connector it went by; empty: a payment file.")
    connector_reference = models.CharField(max_length=255, blank=True, help_text="The rail's id for the payout.")
    connector_calls = models.PositiveIntegerField(default=0, help_text="Calls to the rail without a definite answer.")
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="The rail did not answer: the same call (same key) is made again then.")
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    in_transit_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    # The ledger's transfers: the hold (merchant available -> in transit), its post when sent, the
    # bank's confirmation (in transit -> nostro), and the money back to available (the hold voided,
    # or a transfer back from in transit or from the nostro).
    hold_transfer_id = models.UUIDField()
    sent_transfer_id = models.UUIDField(null=True, blank=True)
    paid_transfer_id = models.UUIDField(null=True, blank=True)
    back_transfer_id = models.UUIDField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=["pending", "in_transit", "paid", "failed", "returned"]),
                                   name="payout_status_valid"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="payout_currency_iso"),
            models.CheckConstraint(condition=Q(iban__regex=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$"),
                                   name="payout_iban_shape"),
            models.CheckConstraint(condition=Q(bic__regex=r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$"),
                                   name="payout_bic_shape"),
            models.CheckConstraint(condition=Q(beneficiary_name__regex=r"\S"), name="payout_beneficiary_named"),
            # Banks' character set (no "_"), at most 35 (ISO 20022's Max35Text).
            models.CheckConstraint(condition=Q(end_to_end_id__regex=r"^[A-Z0-9]{1,35}$"),
                                   name="payout_end_to_end_id_shape"),
            models.CheckConstraint(condition=~Q(settlement_reference=""), name="payout_settlement_reference"),
            # What each status has been through: pending has been nowhere; in transit, paid and
            # returned left from a nostro, after the hold and with the approval it needed; paid
            # and returned were confirmed; failed and returned say why and gave the money back.
            models.CheckConstraint(
                condition=Q(status="pending", in_transit_at__isnull=True, paid_at__isnull=True, failed_at__isnull=True,
                            returned_at__isnull=True, sent_transfer_id__isnull=True, paid_transfer_id__isnull=True,
                            back_transfer_id__isnull=True)
                | Q(status="in_transit", in_transit_at__isnull=False, paid_at__isnull=True, failed_at__isnull=True,
                    returned_at__isnull=True, sent_transfer_id__isnull=False, paid_transfer_id__isnull=True,
                    back_transfer_id__isnull=True)
                | Q(status="paid", in_transit_at__isnull=False, paid_at__isnull=False, failed_at__isnull=True,
                    returned_at__isnull=True, sent_transfer_id__isnull=False, paid_transfer_id__isnull=False,
                    back_transfer_id__isnull=True)
                | Q(status="failed", paid_at__isnull=True, failed_at__isnull=False, returned_at__isnull=True,
                    paid_transfer_id__isnull=True, back_transfer_id__isnull=False)
                | Q(status="returned", in_transit_at__isnull=False, paid_at__isnull=False, failed_at__isnull=True,
                    returned_at__isnull=False, sent_transfer_id__isnull=False, paid_transfer_id__isnull=False,
                    back_transfer_id__isnull=False),
                name="payout_status_history",
            ),
            models.CheckConstraint(condition=Q(in_transit_at__isnull=True) | ~Q(nostro=""),
                                   name="payout_sent_from_nostro"),
            models.CheckConstraint(condition=Q(in_transit_at__isnull=True) | Q(in_transit_at__gte=F("hold_until")),
                                   name="payout_sent_after_hold"),
            models.CheckConstraint(condition=Q(in_transit_at__isnull=True) | Q(needs_approval=False)
                                   | Q(approved_at__isnull=False), name="payout_sent_approved"),
            # A payout held by compliance never leaves.
            models.CheckConstraint(condition=Q(held_for_review=False, merchant_payouts_held=False)
                                   | Q(in_transit_at__isnull=True), name="payout_held_never_sent"),
            models.CheckConstraint(condition=Q(approved_at__isnull=True, approved_by="")
                                   | Q(needs_approval=True, approved_at__isnull=False) & ~Q(approved_by=""),
                                   name="payout_approval_recorded"),
            models.CheckConstraint(condition=Q(status__in=["failed", "returned"]) & ~Q(failure_code="")
                                   | ~Q(status__in=["failed", "returned"]) & Q(failure_code="", failure_message=""),
                                   name="payout_failure_explained"),
            # Only a payout in transit by a rail waits for the rail's answer.
            models.CheckConstraint(condition=Q(next_attempt_at__isnull=True)
                                   | Q(status="in_transit") & ~Q(connector=""), name="payout_rail_call_due"),
            models.CheckConstraint(condition=Q(connector="") | Q(in_transit_at__isnull=False),
                                   name="payout_rail_sent"),
        ]
        indexes = [
            models.Index(fields=["merchant_id", "livemode", "-id"], name="payout_merchant_newest"),
            # What the next payout file may take: pending, by currency and mode, whose hold has passed.
            models.Index(fields=["currency", "livemode", "hold_until"], condition=Q(status="pending"),
                         name="payout_pending"),
            models.Index(fields=["created_at"], name="payout_created_at"),
            # Reconciliation's sweep behind the payout events: live payouts sent by file lately.
            models.Index(fields=["in_transit_at"], condition=Q(livemode=True, connector=""),
                         name="payout_sent_by_file_idx"),
            # The janitor's rail calls that are due.
            models.Index(fields=["next_attempt_at"], condition=Q(next_attempt_at__isnull=False),
                         name="payout_rail_call_due_idx"),
        ]
        permissions = [("request_payout_release", "Can request releasing a payout that needs approval")]

    def __str__(self) -> str:
        return f"payout {Money(self.amount, self.currency)} to ··{self.iban[-4:]} ({self.status})"


class MerchantPayoutHold(models.Model):
    """A merchant's payouts held by compliance (the maker-checker actions
    ``payments.merchant_payouts_hold`` / ``payments.merchant_payouts_unhold``): while a hold is
    active, its merchant's pending payouts and those made meanwhile stay pending
    (``Payout.merchant_payouts_held``): neither the payout file nor the instant rail takes them.
    One active hold per merchant; a lifted hold is kept, with who lifted it and why."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    merchant_id = models.UUIDField()
    reason = models.TextField()
    placed_by = models.CharField(max_length=200)
    placed_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.CharField(max_length=200, blank=True)
    lift_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-placed_at"]
        constraints = [
            models.UniqueConstraint(fields=["merchant_id"], condition=Q(lifted_at__isnull=True),
                                    name="merchant_payout_hold_one_active"),
            models.CheckConstraint(condition=~Q(reason=""), name="merchant_payout_hold_reasoned"),
            models.CheckConstraint(
                condition=Q(lifted_at__isnull=True, lifted_by="", lift_reason="")
                | Q(lifted_at__isnull=False) & ~Q(lifted_by="") & ~Q(lift_reason=""),
                name="merchant_payout_hold_lift_recorded",
            ),
        ]
        permissions = [("request_merchant_payouts_hold", "Can request holding or releasing a merchant's payouts")]

    def __str__(self) -> str:
        return f"payouts of {self.merchant_id} held since {self.placed_at:%Y-%m-%d %H:%M}"
