from decimal import Decimal
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from apps.core.api.fields import AmountField, CurrencyCodeField, PublicIdField, iso_currency, merchant_currency
from apps.core.api.inputs import BodySerializer
from apps.treasury.models import FxConversion, FxQuote


def rate_text(value: Decimal) -> str:
    """A rate as a JSON string without trailing zeros or an exponent (never a float)."""
    text = format(value.normalize(), "f")
    return text


_RATE_HELP = "A decimal number as a string (never a float): how much of `buy.currency` one `sell.currency` buys."


class MoneySerializer(serializers.Serializer):
    amount = serializers.IntegerField(help_text="Minor units (1.250 BHD is 1250).")
    currency = serializers.CharField()


class FxQuoteSerializer(serializers.Serializer):
    id = PublicIdField("fxq")
    livemode = serializers.BooleanField()
    rate = serializers.CharField(help_text="The client rate: mid_rate x (1 - spread). " + _RATE_HELP)
    mid_rate = serializers.CharField(help_text="The market mid rate of the pair. " + _RATE_HELP)
    spread = serializers.CharField(help_text="fincore's margin, a fraction of the mid rate: \"0.0025\" is 25 bp.")
    sell = MoneySerializer(help_text="What leaves your sell wallet.")
    buy = MoneySerializer(help_text="What reaches your buy wallet (rounded once, half-even, to minor units).")
    rate_as_of = serializers.DateTimeField(help_text="When the rate was published.")
    expires_at = serializers.DateTimeField(help_text="Execute it with POST /v1/conversions before then.")
    created = serializers.DateTimeField()

    def to_representation(self, quote: FxQuote) -> dict[str, Any]:
        return fx_quote_representation(quote)


def fx_quote_representation(quote: FxQuote) -> dict[str, Any]:
    return {
        "id": PublicIdField("fxq").to_representation(quote.pk),
        "livemode": quote.livemode,
        "rate": rate_text(quote.client_rate),
        "mid_rate": rate_text(quote.mid_rate),
        "spread": rate_text(quote.spread),
        "sell": {"amount": quote.sell_amount, "currency": quote.sell_currency},
        "buy": {"amount": quote.buy_amount, "currency": quote.buy_currency},
        "rate_as_of": serializers.DateTimeField().to_representation(quote.rate.as_of),
        "expires_at": serializers.DateTimeField().to_representation(quote.expires_at),
        "created": serializers.DateTimeField().to_representation(quote.created_at),
    }


class ConversionTransfersSerializer(serializers.Serializer):
    sell = PublicIdField("tr", help_text="Your sell wallet → fincore's FX position in the sell currency.")
    buy = PublicIdField("tr", help_text="fincore's FX position in the buy currency → your buy wallet.")


class AccountMoneySerializer(MoneySerializer):
    account = PublicIdField("acc")


class FxConversionSerializer(serializers.Serializer):
    id = PublicIdField("fxc")
    livemode = serializers.BooleanField()
    quote = PublicIdField("fxq")
    rate = serializers.CharField(help_text="The client rate the quote gave. " + _RATE_HELP)
    mid_rate = serializers.CharField()
    spread = serializers.CharField()
    sell = AccountMoneySerializer()
    buy = AccountMoneySerializer()
    transfers = ConversionTransfersSerializer()
    created = serializers.DateTimeField()

    def to_representation(self, conversion: FxConversion) -> dict[str, Any]:
        return fx_conversion_representation(conversion)


def fx_conversion_representation(conversion: FxConversion) -> dict[str, Any]:
    quote = conversion.quote
    account, transfer = PublicIdField("acc"), PublicIdField("tr")
    return {
        "id": PublicIdField("fxc").to_representation(conversion.pk),
        "livemode": conversion.livemode,
        "quote": PublicIdField("fxq").to_representation(quote.pk),
        "rate": rate_text(quote.client_rate),
        "mid_rate": rate_text(quote.mid_rate),
        "spread": rate_text(quote.spread),
        "sell": {"amount": quote.sell_amount, "currency": quote.sell_currency,
                 "account": account.to_representation(conversion.sell_account_id)},
        "buy": {"amount": quote.buy_amount, "currency": quote.buy_currency,
                "account": account.to_representation(conversion.buy_account_id)},
        "transfers": {"sell": transfer.to_representation(conversion.sell_transfer_id),
                      "buy": transfer.to_representation(conversion.buy_transfer_id)},
        "created": serializers.DateTimeField().to_representation(conversion.created_at),
    }


class FxQuoteCreateSerializer(BodySerializer):
    sell_currency = CurrencyCodeField(help_text="The currency that leaves your wallet.")
    buy_currency = CurrencyCodeField(help_text="The currency that reaches your other wallet.")
    sell_amount = AmountField(required=False, help_text="Sell exactly this much (or give buy_amount).")
    buy_amount = AmountField(required=False, help_text="Receive exactly this much (or give sell_amount).")

    def validate_sell_currency(self, currency: str) -> str:
        return merchant_currency(iso_currency(currency), self.context["merchant_currencies"])

    def validate_buy_currency(self, currency: str) -> str:
        return merchant_currency(iso_currency(currency), self.context["merchant_currencies"])

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("sell_amount" in attrs) == ("buy_amount" in attrs):
            raise serializers.ValidationError({"sell_amount": "Give sell_amount or buy_amount, not both or neither."})
        return attrs


class FxQuoteCreateSchema(OpenApiSerializerExtension):
    """Exactly one of sell_amount and buy_amount."""

    target_class = FxQuoteCreateSerializer

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target_class, direction, bypass_extensions=True)
        return {**schema, "oneOf": [
            {"title": "sell an amount", "required": ["sell_amount"], "not": {"required": ["buy_amount"]}},
            {"title": "buy an amount", "required": ["buy_amount"], "not": {"required": ["sell_amount"]}},
        ]}


class FxConversionCreateSerializer(BodySerializer):
    quote = PublicIdField("fxq", help_text="The quote to execute, before its expires_at.")
    sell_account = PublicIdField("acc", help_text="Your customer wallet in the quote's sell currency.")
    buy_account = PublicIdField("acc", help_text="Your customer wallet in the quote's buy currency.")
