"""How payments and refunds look to merchants: in API responses and in webhook events alike
(``data.object`` of an event is exactly what ``GET`` returns)."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.fields import PublicIdField
from apps.payments.models import Payment, PaymentAttempt, Refund


class FailureSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable: do_not_honor, insufficient_funds, no_route, ...")
    message = serializers.CharField()


class RoutingSerializer(serializers.Serializer):
    strategy = serializers.CharField(help_text="priority, volume_split or success_rate.")
    rule = serializers.CharField(help_text="The routing rule that matched, or default.")
    reason = serializers.CharField(help_text="Why this connector was chosen, in one sentence.")
    candidates = serializers.ListField(child=serializers.CharField(), help_text="Connectors in the order to try.")
    # A decimal string ("0.8333"), as every fraction in the API: JSON numbers are read as floats.
    scores = serializers.DictField(
        child=serializers.CharField(),
        help_text='Success rate of each candidate, 0 to 1, as a decimal string ("0.8333").',
    )
    excluded = serializers.DictField(child=serializers.CharField(), help_text="Connectors left out, and why.")
    explored = serializers.BooleanField(help_text="Exploration chose a connector that is not the best scored.")


class AttemptSerializer(serializers.ModelSerializer):
    id = PublicIdField("att")
    routing = serializers.SerializerMethodField()
    created = serializers.DateTimeField(source="created_at")

    class Meta:
        model = PaymentAttempt
        fields = ("id", "sequence", "connector", "status", "error_code", "message", "retryable", "routing",
                  "created")
        read_only_fields = fields

    @extend_schema_field(RoutingSerializer)
    def get_routing(self, attempt: PaymentAttempt) -> dict[str, Any]:
        routing = attempt.routing or {}
        return {
            "strategy": routing.get("strategy", ""),
            "rule": routing.get("rule", ""),
            "reason": routing.get("reason", ""),
            "candidates": routing.get("candidates", []),
            "scores": {name: f"{score:.4f}" for name, score in routing.get("scores", {}).items()},
            "excluded": routing.get("excluded", {}),
            "explored": routing.get("explored", False),
        }


class PaymentSerializer(serializers.ModelSerializer):
    id = PublicIdField("pay")
    object = serializers.SerializerMethodField()
    amount_capturable = serializers.SerializerMethodField(help_text="What a capture may still take.")
    amount_refundable = serializers.SerializerMethodField(help_text="What refunds may still return.")
    attempts = AttemptSerializer(many=True, read_only=True, help_text="One per connector try, oldest first.")
    failure = serializers.SerializerMethodField()
    captured = serializers.DateTimeField(source="captured_at", allow_null=True,
                                         help_text="When the capture succeeded; null before.")
    created = serializers.DateTimeField(source="created_at")
    updated = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Payment
        fields = ("id", "object", "livemode", "status", "amount", "currency", "country", "method", "payment_method",
                  "capture_method", "amount_authorized", "amount_capturable", "amount_captured",
                  "amount_refunded", "amount_refundable", "connector", "reference", "metadata", "failure",
                  "attempts", "captured", "created", "updated")
        read_only_fields = fields

    @extend_schema_field({"type": "string", "enum": ["payment"]})
    def get_object(self, payment: Payment) -> str:
        return "payment"

    def get_amount_capturable(self, payment: Payment) -> int:
        if payment.status != Payment.Status.REQUIRES_CAPTURE:
            return 0
        return payment.amount_authorized - payment.amount_captured

    def get_amount_refundable(self, payment: Payment) -> int:
        return payment.amount_captured - payment.amount_refund_reserved

    @extend_schema_field(FailureSerializer(allow_null=True))
    def get_failure(self, payment: Payment) -> dict[str, str] | None:
        if not payment.failure_code:
            return None
        return {"code": payment.failure_code, "message": payment.failure_message}


class RefundSerializer(serializers.ModelSerializer):
    id = PublicIdField("re")
    object = serializers.SerializerMethodField()
    payment = PublicIdField("pay", source="payment_id")
    failure = serializers.SerializerMethodField()
    created = serializers.DateTimeField(source="created_at")
    updated = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Refund
        fields = ("id", "object", "livemode", "payment", "amount", "currency", "status", "reason", "failure",
                  "created", "updated")
        read_only_fields = fields

    @extend_schema_field({"type": "string", "enum": ["refund"]})
    def get_object(self, refund: Refund) -> str:
        return "refund"

    @extend_schema_field(FailureSerializer(allow_null=True))
    def get_failure(self, refund: Refund) -> dict[str, str] | None:
        if not refund.failure_code:
            return None
        return {"code": refund.failure_code, "message": refund.failure_message}


def payment_representation(payment: Payment) -> dict[str, Any]:
    return dict(PaymentSerializer(payment).data)


def refund_representation(refund: Refund) -> dict[str, Any]:
    return dict(RefundSerializer(refund).data)
