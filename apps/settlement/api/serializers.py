"""What merchants ask the settlement API (a list's filters) and how its answers are written: a
settlement line, its fee schedule, and the merchant's fee plan. Amounts are integers in minor units
of the object's ``currency``; percentages are decimal strings ("2.5" is 2.5 %), never floats."""

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.fields import CurrencyCodeField, PublicIdField, iso_currency
from apps.core.api.inputs import QuerySerializer
from apps.settlement import selectors
from apps.settlement.models import SettlementLine

# A line's status as merchants read it. "computed" is the run's word for a line whose figures are
# final and whose money it is moving now; "carried" means pending did not hold the money yet.
STATUSES = {
    SettlementLine.Status.COMPUTED: "processing",
    SettlementLine.Status.SETTLED: "settled",
    SettlementLine.Status.CARRIED: "carried_forward",
}
STATUS_FILTER = {merchant_name: status for status, merchant_name in STATUSES.items()}
STATUS_HELP = (
    "`processing`: the business date's run has computed the line and is moving its money; `settled`: `net` "
    "moved from your pending balance to available (and `reserve_held` to your reserve); `carried_forward`: "
    "pending did not hold the money yet (a refund in flight holds it, see `carried_note`), so the next "
    "business date's run settles this line first."
)
PERCENT_PATTERN = r"^\d{1,3}(\.\d{1,6})?$"


def percent_text(percent: Decimal | str) -> str:
    """``Decimal("2.500000")`` as ``"2.5"``: a decimal string without trailing zeros or exponent."""
    text = format(Decimal(percent), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def rounding_name(rounding: str) -> str:
    """The decimal module's ``ROUND_HALF_EVEN`` as ``half_even``."""
    return rounding.removeprefix("ROUND_").lower()


ROUNDINGS = ["half_even", "half_up", "half_down", "up", "down", "ceiling", "floor"]


@extend_schema_field({"type": "string", "pattern": PERCENT_PATTERN, "example": "2.5"})
class PercentField(serializers.Field):
    """A percentage as a decimal string: "2.5" is 2.5 %."""

    def to_representation(self, value: Decimal | str) -> str:
        return percent_text(value)


class PriceSerializer(serializers.Serializer):
    """How one payment method's captures are priced: ``percent`` of the amount plus ``fixed``, kept
    within ``minimum`` and ``maximum``, rounded once to a minor unit with ``rounding``."""

    method = serializers.ChoiceField(choices=list(selectors.PAYMENT_METHODS))
    plan = serializers.CharField(help_text="The fee plan's code, e.g. default.")
    effective_from = serializers.DateField(help_text="The first business date this price applies to.")
    percent = PercentField(help_text='Percent of the amount, as a decimal string: "2.5" is 2.5 %.')
    fixed = serializers.IntegerField(help_text="Minor units added to each payment's fee.")
    minimum = serializers.IntegerField(allow_null=True, help_text="Smallest fee, in minor units; null: none.")
    maximum = serializers.IntegerField(allow_null=True, help_text="Largest fee, in minor units; null: none.")
    rounding = serializers.ChoiceField(choices=ROUNDINGS,
                                       help_text="How each fee is rounded to a minor unit, once.")
    refund_returns_percentage = serializers.BooleanField(
        help_text="A refund gives back the refunded share of the percentage part (never the fixed part).")


def price_of(priced: selectors.PricedMethod) -> dict[str, Any]:
    schedule = priced.schedule
    return {"method": priced.method, "plan": priced.plan, "effective_from": priced.effective_from,
            "percent": schedule.percent, "fixed": schedule.fixed, "minimum": schedule.minimum,
            "maximum": schedule.maximum, "rounding": rounding_name(schedule.rounding),
            "refund_returns_percentage": schedule.refund_returns_percentage}


def recorded_prices(fee_schedule: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """A line's fee schedule (as the run recorded it) as the API shows prices."""
    return [{"method": method, "plan": price["plan"], "effective_from": price["effective_from"],
             "percent": price["percent"], "fixed": price["fixed"], "minimum": price["minimum"],
             "maximum": price["maximum"], "rounding": rounding_name(price["rounding"]),
             "refund_returns_percentage": price["refund_returns_percentage"]}
            for method, price in sorted(fee_schedule.items(), key=_method_order)]


def _method_order(item: tuple[str, Any]) -> int:
    """Prices listed in one order everywhere: card, instant, wire, wallet."""
    methods = selectors.PAYMENT_METHODS
    return methods.index(item[0]) if item[0] in methods else len(methods)


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="The first instant of the business date.")
    end = serializers.DateTimeField(help_text="Its cut-off (or early closure): the first instant after it.")


@extend_schema_field({"type": "string", "enum": list(STATUSES.values())})
class StatusField(serializers.Field):
    def to_representation(self, value: str) -> str:
        return STATUSES[value]


class SettlementSerializer(serializers.Serializer):
    """One business date of yours in one currency, as its settlement run settled it."""

    id = PublicIdField("stl", source="pk")
    object = serializers.SerializerMethodField()
    livemode = serializers.BooleanField()
    business_date = serializers.DateField()
    currency = serializers.CharField()
    status = StatusField(help_text=STATUS_HELP)
    captures = serializers.IntegerField(help_text="Payments captured in the period.")
    gross = serializers.IntegerField(help_text="What they captured.")
    refund_count = serializers.IntegerField(help_text="Refunds that succeeded in the period.")
    refunds = serializers.IntegerField(help_text="What they refunded.")
    fees = serializers.IntegerField(help_text="fees_charged less fees_returned.")
    fees_charged = serializers.IntegerField(help_text="The captures' fees, each rounded once.")
    fees_returned = serializers.IntegerField(help_text="The fees the refunds gave back.")
    reserve_held = serializers.IntegerField(help_text="Rolling reserve held out of this date's net.")
    reserve_release_on = serializers.DateField(allow_null=True,
                                               help_text="The business date reserve_held is released; null: none.")
    reserve_released = serializers.IntegerField(help_text="Reserve of earlier dates released by this one.")
    net = serializers.IntegerField(
        help_text="gross - refunds - fees - reserve_held + reserve_released: what moves to your available balance.")
    carried_note = serializers.SerializerMethodField()
    # Payouts are made from the available balance after a run; the line records the one that paid it.
    payout = PublicIdField("po", source="payout_id", allow_null=True,
                           help_text="The payout that paid this line's net out (po_...); null until one does.")
    payout_note = serializers.SerializerMethodField()
    fee_schedule = serializers.SerializerMethodField()
    period = serializers.SerializerMethodField()
    settled = serializers.DateTimeField(source="settled_at", allow_null=True,
                                        help_text="When the money moved; null until settled.")
    created = serializers.DateTimeField(source="created_at")

    @extend_schema_field({"type": "string", "enum": ["settlement"]})
    def get_object(self, line: SettlementLine) -> str:
        return "settlement"

    @extend_schema_field({"type": "string", "nullable": True,
                          "description": "Why the line was carried forward; null unless carried_forward."})
    def get_carried_note(self, line: SettlementLine) -> str | None:
        return (line.carried_note or None) if line.status == SettlementLine.Status.CARRIED else None

    @extend_schema_field({"type": "string", "nullable": True,
                          "description": "Why no payout was made (below your payout minimum, no bank account); "
                                         "null otherwise."})
    def get_payout_note(self, line: SettlementLine) -> str | None:
        return line.payout_note or None

    @extend_schema_field(PriceSerializer(many=True, help_text="The prices the line's captures were charged."))
    def get_fee_schedule(self, line: SettlementLine) -> list[dict[str, Any]]:
        return PriceSerializer(recorded_prices(line.fee_schedule), many=True).data

    @extend_schema_field(PeriodSerializer(help_text="The business date's instants: from start, before end."))
    def get_period(self, line: SettlementLine) -> dict[str, Any]:
        return PeriodSerializer({"start": line.run.period_start, "end": line.run.period_end}).data


class SettlementListQuerySerializer(QuerySerializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "currency": CurrencyCodeField(required=False, validators=[iso_currency]),
            "status": serializers.ChoiceField(choices=list(STATUS_FILTER), required=False, help_text=STATUS_HELP),
            "business_date[gte]": serializers.DateField(required=False, help_text="YYYY-MM-DD, inclusive."),
            "business_date[lte]": serializers.DateField(required=False, help_text="YYYY-MM-DD, inclusive."),
        }


class TermsSerializer(serializers.Serializer):
    reserve_percent = PercentField(help_text="Percent of each business date's positive net held as a reserve.")
    reserve_days = serializers.IntegerField(help_text="Business days a reserve is held before it is released.")
    payout_minimum = serializers.IntegerField(help_text="Minor units: a smaller available balance waits for more.")


def terms_of(terms: selectors.Terms) -> dict[str, Any]:
    return {"reserve_percent": terms.reserve_percent, "reserve_days": terms.reserve_days,
            "payout_minimum": terms.payout_minimum}


class PriceChangeSerializer(serializers.Serializer):
    effective_from = serializers.DateField(help_text="The first business date these prices and terms apply to.")
    prices = PriceSerializer(many=True)
    terms = TermsSerializer()


class CurrencyFeePlanSerializer(serializers.Serializer):
    currency = serializers.CharField()
    business_date = serializers.DateField(
        allow_null=True, help_text="Today's business date in this currency, whose prices these are; null: fincore "
                                   "does not settle this currency yet (it has no business calendar).")
    prices = PriceSerializer(many=True, help_text="One per payment method priced, by method.")
    terms = TermsSerializer(allow_null=True)
    upcoming = PriceChangeSerializer(many=True, help_text="Approved changes to come, soonest first: from each "
                                                          "effective_from on, you pay these prices and terms.")


class FeePlanSerializer(serializers.Serializer):
    object = serializers.ChoiceField(choices=["fee_plan"])
    currencies = CurrencyFeePlanSerializer(many=True, help_text="One per currency of yours.")


def fee_plan_of(plans: list[selectors.CurrencyFeePlan]) -> dict[str, Any]:
    return FeePlanSerializer({"object": "fee_plan", "currencies": [
        {"currency": plan.currency, "business_date": plan.business_date,
         "prices": [price_of(priced) for priced in plan.prices],
         "terms": terms_of(plan.terms) if plan.terms else None,
         "upcoming": [{"effective_from": change.effective_from, "prices": [price_of(p) for p in change.prices],
                       "terms": terms_of(change.terms)} for change in plan.upcoming]}
        for plan in plans]}).data

