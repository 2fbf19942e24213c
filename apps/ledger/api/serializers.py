from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core import ids
from apps.core.api.fields import (
    AmountField,
    CurrencyCodeField,
    MetadataField,
    PublicIdField,
    iso_currency,
    merchant_currency,
)
from apps.core.api.inputs import BodySerializer, QuerySerializer
from apps.core.api.limits import MAX_BATCH_OBJECTS
from apps.ledger import data, selectors
from apps.ledger.models import Account, Entry, Transfer

MAX_TIMEOUT_SECONDS = 30 * 24 * 3600
MAX_BATCH = MAX_BATCH_OBJECTS
LIVE_FUNDING_REFUSED = (
    "Funding accounts that may go negative exist in test mode only; live money enters through payments."
)


def validate_client_id(value: str) -> str:
    if value.startswith(data.RESERVED_CLIENT_ID_PREFIX):
        raise serializers.ValidationError(f"Client ids starting with {data.RESERVED_CLIENT_ID_PREFIX!r} are fincore's.")
    return value


class BalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    posted = serializers.IntegerField(help_text="Credits posted minus debits posted, in minor units.")
    pending = serializers.IntegerField(help_text="Incoming minus outgoing holds.")
    available = serializers.IntegerField(help_text="Posted minus outgoing holds: what may be spent now.")


class AccountSerializer(serializers.ModelSerializer):
    id = PublicIdField("acc")
    allow_overdraft = serializers.SerializerMethodField()
    balance = serializers.SerializerMethodField()
    created = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Account
        fields = ("id", "currency", "livemode", "reference", "metadata", "allow_overdraft", "frozen", "closed",
                  "balance", "created")
        read_only_fields = fields

    def get_allow_overdraft(self, account: Account) -> bool:
        return not account.debits_must_not_exceed_credits

    @extend_schema_field(BalanceSerializer)
    def get_balance(self, account: Account) -> dict[str, Any]:
        return BalanceSerializer(selectors.account_balances(account=account)).data


class AccountCreateSerializer(BodySerializer):
    currency = CurrencyCodeField()
    reference = serializers.CharField(max_length=255, required=False, default="", allow_blank=True,
                                      help_text="Your id for the account, e.g. your customer's id.")
    metadata = MetadataField(required=False, default=dict)
    allow_overdraft = serializers.BooleanField(
        required=False, default=False,
        help_text="false (a wallet: never spends more than it holds) or true (a funding account that may go "
        "negative; test mode only).",
    )

    def validate_currency(self, currency: str) -> str:
        return merchant_currency(currency, self.context["merchant_currencies"])

    def validate_allow_overdraft(self, allow_overdraft: bool) -> bool:
        # A live funding account would let any live key credit wallets with money nobody paid in.
        if allow_overdraft and self.context["livemode"]:
            raise serializers.ValidationError(LIVE_FUNDING_REFUSED)
        return allow_overdraft


class AccountListQuerySerializer(QuerySerializer):
    reference = serializers.CharField(required=False, max_length=255)
    currency = CurrencyCodeField(required=False)

    def validate_currency(self, currency: str) -> str:
        return iso_currency(currency)


class AsOfQuerySerializer(QuerySerializer):
    as_of = serializers.DateTimeField(required=False, help_text="ISO-8601; the balance just after this instant.")


class PeriodQuerySerializer(QuerySerializer):
    # "from" is a Python keyword, so the fields are declared by name below.
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": serializers.DateTimeField(required=False, help_text="ISO-8601, inclusive."),
            "to": serializers.DateTimeField(required=False, help_text="ISO-8601, exclusive; after `from`."),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("from") and attrs.get("to") and attrs["from"] >= attrs["to"]:
            raise serializers.ValidationError({"to": "Must be after from."})
        return attrs


class StatementLineSerializer(serializers.ModelSerializer):
    """One entry of a statement, read as a wallet: credits raise the balance, debits lower it."""

    transfer = PublicIdField("tr", source="transfer_id")
    kind = serializers.CharField(source="transfer.kind")
    reference = serializers.CharField(source="transfer.reference")
    side = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField(help_text="Change of the posted balance (negative for a debit).")
    pending_amount = serializers.SerializerMethodField(help_text="Change of the pending balance.")
    balance = serializers.SerializerMethodField()

    class Meta:
        model = Entry
        fields = ("transfer", "posted_at", "kind", "side", "amount", "pending_amount", "balance", "reference")

    def get_side(self, entry: Entry) -> str:
        return "credit" if entry.side == Entry.Side.CREDIT else "debit"

    def get_amount(self, entry: Entry) -> int:
        return entry.posted_change if entry.side == Entry.Side.CREDIT else -entry.posted_change

    def get_pending_amount(self, entry: Entry) -> int:
        return entry.pending_change if entry.side == Entry.Side.CREDIT else -entry.pending_change

    @extend_schema_field(BalanceSerializer)
    def get_balance(self, entry: Entry) -> dict[str, Any]:
        balances = selectors.Balances(self.context["currency"], entry.debits_pending, entry.debits_posted,
                                      entry.credits_pending, entry.credits_posted)
        return BalanceSerializer(balances).data


def _public(prefix: str, value: Any) -> str | None:
    return ids.encode(prefix, value) if value else None


# Writes an instant as every DateTimeField of the API does (ISO 8601, UTC as Z); it keeps no state.
_DATETIME = serializers.DateTimeField()


# Context: ``resolutions`` and ``reversals`` (from selectors), keyed by transfer id. (A comment,
# not a docstring: drf-spectacular would publish a docstring as the schema's description.)
class TransferSerializer(serializers.ModelSerializer):

    id = PublicIdField("tr")
    status = serializers.SerializerMethodField()
    debit_account = PublicIdField("acc", source="debit_account_id")
    credit_account = PublicIdField("acc", source="credit_account_id")
    pending_transfer = serializers.SerializerMethodField(help_text="For a post, void or expiry: the pending one.")
    resolved_by = serializers.SerializerMethodField(help_text="For a pending transfer: its post, void or expiry.")
    reverses = serializers.SerializerMethodField()
    reversed_by = serializers.SerializerMethodField()
    created = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Transfer
        fields = ("id", "livemode", "client_id", "kind", "status", "debit_account", "credit_account", "amount",
                  "currency",
                  "pending_transfer", "resolved_by", "reverses", "reversed_by", "expires_at", "code", "reference",
                  "metadata", "created")
        read_only_fields = fields

    def to_representation(self, transfer: Transfer) -> dict[str, Any]:
        # The fields above describe the answer (the schema reads them); this writes it without
        # building them: a ModelSerializer builds its fields from the model on every use, which
        # cost more than all the rest of a transfer's POST. tests/ledger/test_api_serializers.py
        # holds both to the same answer.
        resolution = self.context["resolutions"].get(transfer.pk)
        reversal = self.context["reversals"].get(transfer.pk)
        return {
            "id": ids.encode("tr", transfer.pk),
            "livemode": bool(transfer.livemode),
            "client_id": str(transfer.client_id),
            "kind": str(transfer.kind),
            "status": selectors.transfer_status(transfer, resolution.kind if resolution else None),
            "debit_account": ids.encode("acc", transfer.debit_account_id),
            "credit_account": ids.encode("acc", transfer.credit_account_id),
            "amount": int(transfer.amount),
            "currency": str(transfer.currency),
            "pending_transfer": _public("tr", transfer.pending_id),
            "resolved_by": _public("tr", resolution.pk if resolution else None),
            "reverses": _public("tr", transfer.reverses_id),
            "reversed_by": _public("tr", reversal.pk if reversal else None),
            "expires_at": _DATETIME.to_representation(transfer.expires_at),
            "code": str(transfer.code),
            "reference": str(transfer.reference),
            "metadata": transfer.metadata,
            "created": _DATETIME.to_representation(transfer.created_at),
        }

    def get_status(self, transfer: Transfer) -> str:
        resolution = self.context["resolutions"].get(transfer.pk)
        return selectors.transfer_status(transfer, resolution.kind if resolution else None)

    def get_pending_transfer(self, transfer: Transfer) -> str | None:
        return _public("tr", transfer.pending_id)

    def get_resolved_by(self, transfer: Transfer) -> str | None:
        resolution = self.context["resolutions"].get(transfer.pk)
        return _public("tr", resolution.pk if resolution else None)

    def get_reverses(self, transfer: Transfer) -> str | None:
        return _public("tr", transfer.reverses_id)

    def get_reversed_by(self, transfer: Transfer) -> str | None:
        reversal = self.context["reversals"].get(transfer.pk)
        return _public("tr", reversal.pk if reversal else None)


NOTHING_RESOLVED: dict[str, Any] = {"resolutions": {}, "reversals": {}}


def transfer_context(transfers: list[Transfer]) -> dict[str, Any]:
    """What TransferSerializer needs for these transfers, in two queries however many."""
    transfer_ids = [transfer.pk for transfer in transfers]
    return {"resolutions": selectors.resolutions_of(transfer_ids), "reversals": selectors.reversals_of(transfer_ids)}


class TransferCreateSerializer(BodySerializer):
    debit_account = PublicIdField("acc")
    credit_account = PublicIdField("acc")
    amount = AmountField()
    currency = CurrencyCodeField()
    pending = serializers.BooleanField(required=False, default=False, help_text="true holds the amount (a pending "
                                       "transfer) until it is posted, voided or times out.")
    timeout = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_TIMEOUT_SECONDS,
                                       help_text="Seconds until a pending transfer expires by itself.")
    client_id = serializers.CharField(required=False, max_length=255, validators=[validate_client_id],
                                      help_text="Your id for the transfer; a retry with it never posts twice. "
                                      "Defaults to the Idempotency-Key.")
    reference = serializers.CharField(required=False, default="", allow_blank=True, max_length=255)
    metadata = MetadataField(required=False, default=dict)

    def validate_currency(self, currency: str) -> str:
        return iso_currency(currency)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("timeout") is not None and not attrs["pending"]:
            raise serializers.ValidationError({"timeout": "Only a pending transfer takes a timeout."})
        return attrs


class TransferCreateSchema(OpenApiSerializerExtension):
    """A timeout is for a pending transfer only: besides its fields, the request is one of two
    shapes, told apart by `pending`. (The schema says "not true" and "not false" rather than
    listing one value, which drf-spectacular would make an enum component of.)"""

    target_class = TransferCreateSerializer

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target_class, direction, bypass_extensions=True)
        immediate = {"title": "immediate transfer", "properties": {
            "pending": {"type": "boolean", "not": {"enum": [True]}, "description": "false, or left out."},
            "timeout": {"nullable": True, "allOf": [{"enum": [None]}],
                        "description": "Only a pending transfer takes a timeout: null or left out."},
        }}
        pending = {"title": "pending transfer", "required": ["pending"], "properties": {
            "pending": {"type": "boolean", "not": {"enum": [False]}, "description": "true."},
        }}
        return {**schema, "oneOf": [immediate, pending]}


class TransferPostSerializer(BodySerializer):
    amount = AmountField(required=False, help_text="Post part of the hold; the rest is released. Default: all.")


class TransferBatchSerializer(BodySerializer):
    transfers = TransferCreateSerializer(many=True, allow_empty=False, max_length=MAX_BATCH)
    atomic = serializers.BooleanField(required=False, default=False,
                                      help_text="true: every transfer is posted, or none is.")


class TransferListQuerySerializer(PeriodQuerySerializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            **super().get_fields(),
            "account": PublicIdField("acc", required=False, help_text="Either side of the transfer."),
            "status": serializers.ChoiceField(choices=selectors.STATUSES, required=False),
        }


class TransferBatchSchema(OpenApiSerializerExtension):
    target_class = TransferBatchSerializer

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target_class, direction, bypass_extensions=True)
        schema["properties"]["transfers"].update(minItems=1, maxItems=MAX_BATCH)
        return schema


class BatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    result = serializers.CharField(help_text="ok, exists, or the code of the refusal.")
    transfer = TransferSerializer(allow_null=True)


class BatchResponseSerializer(serializers.Serializer):
    results = BatchResultSerializer(many=True, help_text="One per transfer sent, in the order sent.")
