"""What merchants send to the payments API, and the schema of what it answers (the answers
themselves are rendered by apps.payments.representations, which webhooks share)."""

import copy
from collections.abc import Sequence
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core import ids
from apps.core.api.fields import (
    AmountField,
    CountryCodeField,
    CurrencyCodeField,
    MetadataField,
    PublicIdField,
    iso_currency,
    merchant_currency,
    public_id_pattern,
)
from apps.core.api.inputs import BodySerializer, QuerySerializer
from apps.core.api.schema import NON_BLANK_TEXT_PATTERN
from apps.core.countries import is_country
from apps.core.iban import iban_is_valid, iban_normalize
from apps.payments import domain
from apps.payments.models import Payment, PaymentAttempt, Payout, Refund

_TOKEN_HELP = "A card token from your card vault, e.g. tok_success in the sandbox. Never a card number."


@extend_schema_field({"type": "string", "enum": Payment.Method.values})
class MethodTypeField(serializers.ChoiceField):
    """card, instant, wire or wallet (an inline enum: "type" is a common field name)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Payment.Method.choices, **kwargs)


class PaymentMethodSerializer(BodySerializer):
    """One of: card {token}; instant {iban, name?}; wire {iban, bic, name?}; wallet {account}."""

    FIELDS = {
        "card": {"type", "token"},
        "instant": {"type", "iban", "name"},
        "wire": {"type", "iban", "bic", "name"},
        "wallet": {"type", "account"},
    }

    type = MethodTypeField()
    token = serializers.CharField(required=False, max_length=255, help_text=_TOKEN_HELP)
    iban = serializers.CharField(required=False, max_length=42, help_text="instant and wire: the payer's IBAN.")
    bic = serializers.CharField(required=False, max_length=11, help_text="wire: the payer's bank's BIC.")
    name = serializers.CharField(required=False, max_length=140, help_text="instant and wire: the account holder.")
    account = PublicIdField("acc", required=False, help_text="wallet: one of your customer wallets (acc_...).")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict) and data.get("type") in self.FIELDS:
            unknown = sorted(set(data) - self.FIELDS[data["type"]])
            if unknown:
                raise serializers.ValidationError(
                    {name: f"Not a field of a {data['type']} payment method." for name in unknown}
                )
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        method = attrs["type"]
        required = {"card": ["token"], "instant": ["iban"], "wire": ["iban", "bic"], "wallet": ["account"]}[method]
        missing = {name: f"Required for a {method} payment." for name in required if not attrs.get(name)}
        if missing:
            raise serializers.ValidationError(missing)
        if "iban" in attrs:
            attrs["iban"] = iban_normalize(attrs["iban"])
            if not iban_is_valid(attrs["iban"]):
                raise serializers.ValidationError(
                    {"iban": "Not a valid IBAN (its length or check digits do not match its country)."}
                )
        if "bic" in attrs:
            attrs["bic"] = attrs["bic"].upper()
            if not domain.bic_valid(attrs["bic"]):
                raise serializers.ValidationError({"bic": "Not a valid BIC (8 or 11 letters and digits)."})
        return attrs

    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        return instance


_BIC_PATTERN = "^[A-Za-z]{6}[A-Za-z0-9]{2}([A-Za-z0-9]{3})?$"


def _method_schema(method: str, required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object", "title": f"{method} payment method", "additionalProperties": False,
        "required": ["type", *required], "properties": {"type": {"type": "string", "enum": [method]}, **properties},
    }


_NAME = {"type": "string", "minLength": 1, "maxLength": 140, "pattern": NON_BLANK_TEXT_PATTERN,
         "description": "The account holder."}
_IBAN = {"type": "string", "format": "iban", "minLength": 1, "maxLength": 42,
         "description": "An IBAN (ISO 13616: its country's length and valid check digits); spaces are ignored."}
PAYMENT_METHOD_SCHEMAS = {
    "card": _method_schema("card", ["token"], {"token": {
        "type": "string", "minLength": 1, "maxLength": 255, "pattern": NON_BLANK_TEXT_PATTERN,
        "description": _TOKEN_HELP}}),
    "instant": _method_schema("instant", ["iban"], {"iban": _IBAN, "name": _NAME}),
    "wire": _method_schema("wire", ["iban", "bic"], {"iban": _IBAN, "name": _NAME, "bic": {
        "type": "string", "pattern": _BIC_PATTERN, "description": "The payer's bank's BIC: 8 or 11 characters."}}),
    "wallet": _method_schema("wallet", ["account"], {"account": {
        "type": "string", "pattern": public_id_pattern("acc"), "description": "One of your customer wallets."}}),
}


def payment_methods_schema(auto_schema: Any, methods: Sequence[str]) -> dict[str, Any]:
    """One of ``methods``' payment method components (``CardPaymentMethod``, ...), by ``type``."""
    references = {}
    for method in methods:
        component = ResolvedComponent(
            name=f"{method.capitalize()}PaymentMethod", type=ResolvedComponent.SCHEMA,
            object=f"{method.capitalize()}PaymentMethod", schema=copy.deepcopy(PAYMENT_METHOD_SCHEMAS[method]),
        )
        auto_schema.registry.register_on_missing(component)
        references[method] = component.ref["$ref"]
    return {"oneOf": [{"$ref": reference} for reference in references.values()],
            "discriminator": {"propertyName": "type", "mapping": references}}


class PaymentMethodSchema(OpenApiSerializerExtension):
    """The schema of a payment method is one object per type, each with the fields it requires and
    no others: what PaymentMethodSerializer checks."""

    target_class = PaymentMethodSerializer

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return payment_methods_schema(auto_schema, list(PAYMENT_METHOD_SCHEMAS))


class PaymentCreateSerializer(BodySerializer):
    amount = AmountField()
    currency = CurrencyCodeField()
    country = CountryCodeField(help_text="ISO 3166-1 alpha-2 of the payer, e.g. BH.")
    payment_method = PaymentMethodSerializer()
    capture_method = serializers.ChoiceField(
        choices=Payment.CaptureMethod.choices, default=Payment.CaptureMethod.AUTOMATIC,
        help_text="automatic (captured at once) or manual (authorized; capture or cancel later; cards and wallets).",
    )
    reference = serializers.CharField(required=False, default="", allow_blank=True, max_length=255,
                                      help_text="Your id for the payment, e.g. your order number.")
    metadata = MetadataField(flat=True, required=False, default=dict)

    def validate_currency(self, currency: str) -> str:
        return merchant_currency(currency, self.context["merchant_currencies"])

    def validate_country(self, country: str) -> str:
        if not is_country(country):
            raise serializers.ValidationError(f"{country!r} is not an ISO 3166 country code.")
        return country

    def validated_payment_method(self) -> dict[str, Any]:
        """The payment method as stored: a wallet's account as its public id."""
        method = dict(self.validated_data["payment_method"])
        if "account" in method:
            method["account"] = ids.encode("acc", method["account"])
        return method


class PaymentCreateSchema(OpenApiSerializerExtension):
    """Manual capture is for cards and wallets; an instant or wire payment is captured at once:
    besides its fields, the request is one of two shapes, told apart by the payment method."""

    target_class = PaymentCreateSerializer

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target_class, direction, bypass_extensions=True)
        captured_later = {"title": "card or wallet", "properties": {
            "payment_method": payment_methods_schema(auto_schema, ("card", "wallet")),
        }}
        captured_at_once = {"title": "instant or wire", "properties": {
            "payment_method": payment_methods_schema(auto_schema, ("instant", "wire")),
            "capture_method": {"type": "string", "enum": ["automatic"],
                               "description": "An instant or wire payment is captured at once: automatic."},
        }}
        return {**schema, "oneOf": [captured_later, captured_at_once]}


class PaymentListQuerySerializer(QuerySerializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "status": serializers.ChoiceField(choices=Payment.Status.choices, required=False),
            "currency": CurrencyCodeField(required=False, validators=[iso_currency]),
            "method": serializers.ChoiceField(choices=Payment.Method.choices, required=False),
            "reference": serializers.CharField(required=False, max_length=255),
            "created[gte]": serializers.DateTimeField(required=False, help_text="ISO-8601, inclusive."),
            "created[lte]": serializers.DateTimeField(required=False, help_text="ISO-8601, inclusive."),
        }


class CaptureSerializer(BodySerializer):
    amount = AmountField(required=False, help_text="Capture part of the authorization; the rest is released. "
                                                   "Default: all of it.")


class RefundCreateSerializer(BodySerializer):
    payment = PublicIdField("pay", help_text="The succeeded payment to refund (pay_...).")
    amount = AmountField(required=False, help_text="Default: all that is left to refund.")
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=255)


class RefundListQuerySerializer(QuerySerializer):
    payment = PublicIdField("pay", required=False)
    status = serializers.ChoiceField(choices=Refund.Status.choices, required=False)


class PayoutListQuerySerializer(QuerySerializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "status": serializers.ChoiceField(choices=Payout.Status.choices, required=False),
            "currency": CurrencyCodeField(required=False, validators=[iso_currency]),
            "created[gte]": serializers.DateTimeField(required=False, help_text="ISO-8601, inclusive."),
            "created[lte]": serializers.DateTimeField(required=False, help_text="ISO-8601, inclusive."),
        }


class MerchantBalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    pending = serializers.IntegerField(help_text="Captured and not yet settled, less refunds in flight.")
    available = serializers.IntegerField(help_text="Settled and payable to you, less refunds in flight.")
    reserve = serializers.IntegerField(help_text="Held back as a reserve.")


class BalanceListSerializer(serializers.Serializer):
    livemode = serializers.BooleanField()
    balances = MerchantBalanceSerializer(many=True)


# --- responses (schema only: apps.payments.representations renders them) ----------------------


class FailureSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable: do_not_honor, insufficient_funds, no_route, ledger_refused, ...")
    message = serializers.CharField()


class RoutingSerializer(serializers.Serializer):
    strategy = serializers.CharField(help_text="priority, volume_split or success_rate.")
    rule = serializers.CharField(help_text="The routing rule that matched, or default.")
    reason = serializers.CharField(help_text="Why this connector was chosen, in one sentence.")
    candidates = serializers.ListField(child=serializers.CharField(), help_text="Connectors in the order to try.")
    scores = serializers.DictField(
        child=serializers.CharField(),
        help_text='Success rate of each candidate, 0 to 1, as a decimal string ("0.8333").',
    )
    excluded = serializers.DictField(child=serializers.CharField(), help_text="Connectors left out, and why.")
    explored = serializers.BooleanField(help_text="Exploration chose a connector that is not the best scored.")


class AttemptSerializer(serializers.ModelSerializer):
    id = PublicIdField("att")
    routing = RoutingSerializer()
    created = serializers.DateTimeField(source="created_at")

    class Meta:
        model = PaymentAttempt
        fields = ("id", "sequence", "connector", "status", "error_code", "message", "retryable", "routing",
                  "created")
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    id = PublicIdField("pay")
    object = serializers.ChoiceField(choices=["payment"])
    amount_capturable = serializers.IntegerField(help_text="What a capture may still take.")
    amount_refundable = serializers.IntegerField(help_text="What refunds may still return.")
    attempts = AttemptSerializer(many=True, help_text="One per connector try, oldest first.")
    failure = FailureSerializer(allow_null=True)
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


class RefundSerializer(serializers.ModelSerializer):
    id = PublicIdField("re")
    object = serializers.ChoiceField(choices=["refund"])
    payment = PublicIdField("pay")
    failure = FailureSerializer(allow_null=True)
    created = serializers.DateTimeField(source="created_at")
    updated = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Refund
        fields = ("id", "object", "livemode", "payment", "amount", "currency", "status", "reason", "failure",
                  "created", "updated")
        read_only_fields = fields


class PayoutBankAccountSerializer(serializers.Serializer):
    last4 = serializers.CharField(help_text="The last four characters of the IBAN paid to (never the whole IBAN).")
    bic = serializers.CharField(help_text="The beneficiary's bank.")
    beneficiary_name = serializers.CharField()


class PayoutSerializer(serializers.ModelSerializer):
    id = PublicIdField("po")
    object = serializers.ChoiceField(choices=["payout"])
    bank_account = PayoutBankAccountSerializer(help_text="Where it goes: your bank account when it was made.")
    settlement = serializers.CharField(source="settlement_reference",
                                       help_text="The settlement (stl_...) whose net it pays out.")
    end_to_end_id = serializers.CharField(help_text="The reference your bank shows with the credit.")
    held_until = serializers.DateTimeField(
        source="hold_until", help_text="It does not leave before: 24 hours after your bank account was set or changed.")
    sent = serializers.DateTimeField(source="in_transit_at", allow_null=True,
                                     help_text="When it was sent to the bank (in_transit); null before.")
    arrival = serializers.DateTimeField(source="paid_at", allow_null=True,
                                        help_text="When the bank confirmed it (paid); null before.")
    failure = FailureSerializer(allow_null=True, help_text="Why it failed or came back (failed, returned): an "
                                "ISO 20022 reason code (AC04: account closed, ...) and the bank's words.")
    created = serializers.DateTimeField(source="created_at")
    updated = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Payout
        fields = ("id", "object", "livemode", "status", "amount", "currency", "bank_account", "settlement",
                  "end_to_end_id", "held_until", "sent", "arrival", "failure", "created", "updated")
        read_only_fields = fields
