"""Prices and terms in the admin, read only: fee plans with their lines, each plan's lines, which
merchant pays which plan, and the reserve and payout minimum per currency. Each row takes effect
from a business date and is never edited; "Replaced from" is the date the next row of the same
kind takes over. A change is asked for on its "Request ..." page: a maker-checker request that a
compliance supervisor approves (the row is added and journaled then)."""

import uuid
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.db.models import Count, OuterRef, QuerySet, Subquery, UUIDField, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from apps.audit.admin_export import CsvExportMixin
from apps.core import ids
from apps.core.admin_merchants import MERCHANT_ID, MERCHANT_NAME, MerchantAdminMixin, merchant_link
from apps.core.admin_money import MoneyAdminMixin, minor_units
from apps.core.admin_readonly import ReadOnlyAdminMixin, ReadOnlyModelAdmin
from apps.core.money import Money
from apps.settlement import selectors, services
from apps.settlement.admin.shared import (
    CurrencyFilter,
    RequestForm,
    RequestPageAdminMixin,
    SettlementMedia,
    change_requested,
    currency_choices,
    percent_text,
    uuid_or_none,
)
from apps.settlement.models import ROUNDING_CHOICES, FeePlan, FeePlanLine, MerchantFeePlan, SettlementTerms

REQUEST_PERMISSION = "settlement.request_fee_change"
METHOD_CHOICES = [("", "Every method (those the plan prices no other way)"), ("card", "card"),
                  ("instant", "instant"), ("wire", "wire"), ("wallet", "wallet")]
_NO_MERCHANT = Value(uuid.UUID(int=0), output_field=UUIDField())
WHEN_HELP = ("A business date after the last closed one (today's at the earliest): a settled day's prices "
             "stand.")
# Every request page's reason for the second person.
CHECKED = ("Prices and terms decide what every merchant is paid, so changing them needs a second person; a change "
           "adds a row from its business date: no row is ever edited.")


def _replaced_from(rows: QuerySet, *same: str) -> Subquery:
    """The start of the next row with the same ``same`` fields: when this one stops applying."""
    later = rows.filter(**{field: OuterRef(field) for field in same}, effective_from__gt=OuterRef("effective_from"))
    return Subquery(later.order_by("effective_from").values("effective_from")[:1])


def _next_business_date() -> date | None:
    """Tomorrow's business date (of the first calendar): what a change is usually asked from."""
    currencies = selectors.calendar_currencies()
    return selectors.business_day(currency=currencies[0]).next_business_date if currencies else None


def _merchant_argument(text: str) -> str:
    merchant_id = ids.decode("mer", text.strip())
    if merchant_id is None:
        try:
            merchant_id = uuid.UUID(text.strip())
        except ValueError as invalid:
            raise forms.ValidationError("Type the merchant's mer_ id (shown on its page).") from invalid
    return str(merchant_id)


class _PricesRequestMixin(RequestPageAdminMixin):
    request_permission = REQUEST_PERMISSION


def _with_query(url: str, **query: Any) -> str:
    return f"{url}?{urlencode(query)}"


@admin.display(description="Replaced from", ordering="replaced_from")
def replaced_from(modeladmin: Any, row: Any) -> str:
    return f"{row.replaced_from:%Y-%m-%d}" if row.replaced_from else "-"


@admin.display(description="From", ordering="effective_from")
def effective_from_shown(modeladmin: Any, row: Any) -> str:
    """Dates as ISO, as "Replaced from" beside them (the list reads as a timeline)."""
    return f"{row.effective_from:%Y-%m-%d}"


# --- fee plans ---------------------------------------------------------------------------------------


class _FeeLineColumnsMixin(MoneyAdminMixin):
    """A plan's lines, in the plan's page and in their own list: prices as money and percent, and
    when the next line for the same method and currency takes over."""

    money_fields = {"fixed": "currency", "minimum": "currency", "maximum": "currency"}
    replaced_from = replaced_from

    def get_queryset(self, request: HttpRequest) -> QuerySet[FeePlanLine]:
        return super().get_queryset(request).annotate(  # type: ignore[misc]
            replaced_from=_replaced_from(FeePlanLine.objects.all(), "plan", "method", "currency"))

    @admin.display(description="Method", ordering="method")
    def method_name(self, line: FeePlanLine) -> str:
        return line.method or "every method"

    @admin.display(description="Percent", ordering="percent")
    def percent_shown(self, line: FeePlanLine) -> str:
        return percent_text(line.percent)


class FeePlanLineInline(_FeeLineColumnsMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = FeePlanLine
    fields = ("method_name", "currency", "percent_shown", "fixed_money", "minimum_money", "maximum_money",
              "effective_from", "replaced_from", "created_by")
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(FeePlan)
class FeePlanAdmin(_PricesRequestMixin, CsvExportMixin, ReadOnlyModelAdmin):
    """The price lists: the default plan every merchant pays, and the plans some are put on."""

    request_kind = "create"
    request_label = "Request a new fee plan"

    list_display = ("code", "name", "is_default", "rounding", "refund_returns_percentage", "line_count",
                    "created_at")
    fields = ("code", "name", "is_default", "rounding", "refund_returns_percentage", "created_at", "created_by")
    readonly_fields = fields
    search_fields = ("code", "name")
    inlines = (FeePlanLineInline,)
    Media = SettlementMedia

    def get_queryset(self, request: HttpRequest) -> QuerySet[FeePlan]:
        return super().get_queryset(request).annotate(line_count=Count("lines"))

    @admin.display(description="Lines", ordering="line_count")
    def line_count(self, plan: FeePlan) -> int:
        return plan.line_count

    def request_links(self, request: HttpRequest) -> list[tuple[str, str]]:
        return [*super().request_links(request), (PRICE_CHANGE, _price_change_url())]

    def request_object_links(self, request: HttpRequest, plan: FeePlan) -> list[tuple[str, str]]:
        return [(PRICE_CHANGE, _with_query(_price_change_url(), plan=plan.code))]

    def request_view(self, request: HttpRequest) -> HttpResponse:
        """Ask for a new fee plan (its prices are asked for next, a line at a time)."""
        return change_requested(self, request, FeePlanCreateForm(request.POST or None),
                                title="Request a new fee plan",
                                explanation="A new plan prices nothing until its lines are added (Request a price "
                                            f"change); a method it does not price is priced by the default plan. "
                                            f"{CHECKED}")


class FeePlanCreateForm(RequestForm):
    action = services.FEE_PLAN_CREATE

    code = forms.SlugField(max_length=64, help_text="Lower-case letters, digits, - and _: enterprise-2031")
    name = forms.CharField(max_length=200)
    rounding = forms.ChoiceField(choices=ROUNDING_CHOICES, initial="ROUND_HALF_EVEN",
                                 help_text="How each fee is rounded to a minor unit, once")
    refund_returns_percentage = forms.BooleanField(
        required=False, initial=True, label="Refunds return the percentage part",
        help_text="A refund gives back the percentage part of its payment's fee (never the fixed part)")

    def arguments(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        return {"code": cleaned["code"], "name": cleaned["name"].strip(), "rounding": cleaned["rounding"],
                "refund_returns_percentage": cleaned["refund_returns_percentage"]}


# --- a plan's lines ----------------------------------------------------------------------------------


PRICE_CHANGE = "Request a price change"


def _price_change_url() -> str:
    return reverse("admin:settlement_feeplanline_request_change")


class FeeLineForm(RequestForm):
    action = services.FEE_PLAN_LINE_SET

    plan = forms.ModelChoiceField(queryset=FeePlan.objects.all(), to_field_name="code", empty_label=None)
    method = forms.ChoiceField(choices=METHOD_CHOICES, required=False)
    currency = forms.ChoiceField(choices=currency_choices)
    percent = forms.CharField(max_length=20, help_text="Of each payment: 2.5 is 2.5 % (at most six decimals)")
    fixed = forms.CharField(max_length=40, initial="0", help_text="Per payment, in major units: 0.100 (BHD)")
    minimum = forms.CharField(max_length=40, required=False, help_text="Major units; empty: no minimum")
    maximum = forms.CharField(max_length=40, required=False, help_text="Major units; empty: no maximum")
    effective_from = forms.DateField(help_text=WHEN_HELP)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        currency = cleaned.get("currency")
        if currency:
            for name in ("fixed", "minimum", "maximum"):
                text = (cleaned.get(name) or "").strip()
                try:
                    cleaned[name] = minor_units(text, currency) if text else None
                except forms.ValidationError as invalid:
                    self.add_error(name, invalid)
        if cleaned.get("fixed") is None and "fixed" not in self.errors:
            cleaned["fixed"] = 0
        return cleaned

    def arguments(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        return {"plan": cleaned["plan"].code, "method": cleaned["method"], "currency": cleaned["currency"],
                "percent": cleaned["percent"].strip(), "fixed": cleaned["fixed"], "minimum": cleaned["minimum"],
                "maximum": cleaned["maximum"], "effective_from": cleaned["effective_from"].isoformat()}


@admin.register(FeePlanLine)
class FeePlanLineAdmin(_PricesRequestMixin, CsvExportMixin, _FeeLineColumnsMixin, ReadOnlyModelAdmin):
    """Each plan's price per method and currency, from a business date (newest first per method)."""

    request_label = PRICE_CHANGE
    # What fits a 1366 px screen: who made each line is on its page.
    list_display = ("plan_code", "priced", "percent_shown", "fixed_money", "minimum_money", "maximum_money",
                    "effective_from_shown", "replaced_from")
    list_filter = ("plan", "method", CurrencyFilter)
    list_select_related = ("plan",)
    fields = ("plan", "method_name", "currency", "percent_shown", "fixed_money", "minimum_money", "maximum_money",
              "effective_from", "replaced_from", "created_at", "created_by")
    readonly_fields = fields
    effective_from_shown = effective_from_shown
    Media = SettlementMedia

    @admin.display(description="Plan", ordering="plan__code")
    def plan_code(self, line: FeePlanLine) -> str:
        return line.plan.code

    @admin.display(description="Prices", ordering="method")
    def priced(self, line: FeePlanLine) -> str:
        return f"{self.method_name(line)} in {line.currency}"

    def request_object_links(self, request: HttpRequest, line: FeePlanLine) -> list[tuple[str, str]]:
        return [("Request a change from this price", _with_query(self.request_url(), line=line.pk))]

    def request_view(self, request: HttpRequest) -> HttpResponse:
        """Ask for a plan's price of a method and currency from a business date. ``?line=<id>``
        starts from that line's price; ``?plan=<code>`` from that plan."""
        initial: dict[str, Any] = {"effective_from": _next_business_date(), "currency": "BHD"}
        line = FeePlanLine.objects.select_related("plan").filter(pk=uuid_or_none(request.GET.get("line"))).first()
        if line is not None:
            initial |= {"plan": line.plan.code, "method": line.method, "currency": line.currency,
                        "percent": f"{line.percent.normalize():f}", "fixed": _major(line.fixed, line.currency),
                        "minimum": _major(line.minimum, line.currency), "maximum": _major(line.maximum, line.currency)}
        elif request.GET.get("plan"):
            initial["plan"] = request.GET["plan"]
        return change_requested(self, request, FeeLineForm(request.POST or None, initial=initial),
                                title=PRICE_CHANGE,
                                explanation="A price applies from its business date on: the line in force until "
                                            f"then stays, and business dates already settled keep their prices. "
                                            f"{CHECKED}")


def _major(amount: int | None, currency: str) -> str:
    return Money(amount, currency).to_major_str() if amount is not None else ""


# --- merchants' plans ------------------------------------------------------------------------------------


class MerchantPlanForm(RequestForm):
    action = services.MERCHANT_FEE_PLAN_SET

    merchant = forms.CharField(max_length=40, help_text="The merchant's mer_ id (on its page)")
    plan = forms.ModelChoiceField(queryset=FeePlan.objects.all(), to_field_name="code", empty_label=None,
                                  help_text="The default plan's code puts the merchant back on the default prices")
    effective_from = forms.DateField(help_text=WHEN_HELP)

    def clean_merchant(self) -> str:
        return _merchant_argument(self.cleaned_data["merchant"])

    def arguments(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        return {"merchant_id": cleaned["merchant"], "plan": cleaned["plan"].code,
                "effective_from": cleaned["effective_from"].isoformat()}


@admin.register(MerchantFeePlan)
class MerchantFeePlanAdmin(_PricesRequestMixin, CsvExportMixin, MerchantAdminMixin, ReadOnlyModelAdmin):
    """Merchants put on a plan other than the default, from a business date."""

    request_label = "Request a merchant's fee plan"

    list_display = ("merchant_name", "plan", "effective_from_shown", "replaced_from", "created_at")
    list_filter = ("plan",)
    list_select_related = ("plan",)
    fields = ("merchant_name", "plan", "effective_from", "replaced_from", "created_at", "created_by")
    readonly_fields = fields
    replaced_from = replaced_from
    effective_from_shown = effective_from_shown
    Media = SettlementMedia

    def get_queryset(self, request: HttpRequest) -> QuerySet[MerchantFeePlan]:
        return super().get_queryset(request).annotate(
            replaced_from=_replaced_from(MerchantFeePlan.objects.all(), "merchant"))

    def request_object_links(self, request: HttpRequest, row: MerchantFeePlan) -> list[tuple[str, str]]:
        return [("Request another plan for this merchant",
                 _with_query(self.request_url(), merchant=ids.encode("mer", row.merchant_id)))]

    def request_view(self, request: HttpRequest) -> HttpResponse:
        """Ask for a merchant to pay a plan from a business date; ``?merchant=<mer_ id>`` names it."""
        initial = {"effective_from": _next_business_date(), "merchant": request.GET.get("merchant", "")}
        return change_requested(self, request, MerchantPlanForm(request.POST or None, initial=initial),
                                title="Request a merchant's fee plan",
                                explanation="From its business date on, the merchant pays the plan's prices (and "
                                            f"the default plan's for the methods the plan does not price). {CHECKED}")


# --- terms ---------------------------------------------------------------------------------------------------


class TermsForm(RequestForm):
    action = services.TERMS_SET

    merchant = forms.CharField(max_length=40, required=False,
                               help_text="A merchant's mer_ id; empty: every merchant without terms of its own")
    currency = forms.ChoiceField(choices=currency_choices)
    reserve_percent = forms.CharField(max_length=20, initial="0",
                                      help_text="Of each business date's positive net, held back: 10 is 10 %")
    reserve_days = forms.IntegerField(min_value=0, initial=0, help_text="Business days a reserve is held")
    payout_minimum = forms.CharField(max_length=40, initial="0",
                                     help_text="Major units: smaller available balances wait for more")
    effective_from = forms.DateField(help_text=WHEN_HELP)

    def clean_merchant(self) -> str | None:
        text = self.cleaned_data["merchant"].strip()
        return _merchant_argument(text) if text else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("currency") and "payout_minimum" in cleaned:
            try:
                cleaned["payout_minimum"] = minor_units(cleaned["payout_minimum"], cleaned["currency"])
            except forms.ValidationError as invalid:
                self.add_error("payout_minimum", invalid)
        return cleaned

    def arguments(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        return {"merchant_id": cleaned["merchant"], "currency": cleaned["currency"],
                "reserve_percent": cleaned["reserve_percent"].strip(), "reserve_days": cleaned["reserve_days"],
                "payout_minimum": cleaned["payout_minimum"], "effective_from": cleaned["effective_from"].isoformat()}


@admin.register(SettlementTerms)
class SettlementTermsAdmin(_PricesRequestMixin, CsvExportMixin, MerchantAdminMixin, MoneyAdminMixin,
                           ReadOnlyModelAdmin):
    """Each currency's rolling reserve and payout minimum: for every merchant (no merchant), or a
    merchant's own, from a business date."""

    request_label = "Request a change of terms"
    money_fields = {"payout_minimum": "currency"}
    list_display = ("merchant_name", "currency", "reserve_percent_shown", "reserve_days", "payout_minimum_money",
                    "effective_from_shown", "replaced_from")
    list_filter = (CurrencyFilter,)
    fields = ("merchant_name", "currency", "reserve_percent_shown", "reserve_days", "payout_minimum_money",
              "effective_from", "replaced_from", "created_at", "created_by")
    readonly_fields = fields
    replaced_from = replaced_from
    effective_from_shown = effective_from_shown
    Media = SettlementMedia

    def get_queryset(self, request: HttpRequest) -> QuerySet[SettlementTerms]:
        # Every merchant's terms (no merchant) follow each other too: NULL never equals NULL in SQL.
        rows = SettlementTerms.objects.annotate(whose=Coalesce("merchant_id", _NO_MERCHANT))
        return super().get_queryset(request).annotate(whose=Coalesce("merchant_id", _NO_MERCHANT)).annotate(
            replaced_from=_replaced_from(rows, "whose", "currency"))

    @admin.display(description="Merchant", ordering=MERCHANT_NAME)
    def merchant_name(self, terms: SettlementTerms) -> str:
        if terms.merchant_id is None:
            return "Every merchant"
        return merchant_link(getattr(terms, MERCHANT_ID, None), getattr(terms, MERCHANT_NAME, None))

    @admin.display(description="Reserve", ordering="reserve_percent")
    def reserve_percent_shown(self, terms: SettlementTerms) -> str:
        return percent_text(terms.reserve_percent)

    def request_object_links(self, request: HttpRequest, terms: SettlementTerms) -> list[tuple[str, str]]:
        return [("Request a change from these terms", _with_query(self.request_url(), terms=terms.pk))]

    def request_view(self, request: HttpRequest) -> HttpResponse:
        """Ask for a currency's reserve and payout minimum from a business date; ``?terms=<id>``
        starts from those terms."""
        initial: dict[str, Any] = {"effective_from": _next_business_date(), "currency": "BHD"}
        terms = SettlementTerms.objects.filter(pk=uuid_or_none(request.GET.get("terms"))).first()
        if terms is not None:
            initial |= {"merchant": ids.encode("mer", terms.merchant_id) if terms.merchant_id else "",
                        "currency": terms.currency, "reserve_percent": f"{terms.reserve_percent.normalize():f}",
                        "reserve_days": terms.reserve_days,
                        "payout_minimum": _major(terms.payout_minimum, terms.currency)}
        elif request.GET.get("merchant"):
            initial["merchant"] = request.GET["merchant"]
        return change_requested(self, request, TermsForm(request.POST or None, initial=initial),
                                title="Request a change of terms",
                                explanation="Terms apply from their business date on; a merchant's own terms "
                                            f"replace every merchant's for it. {CHECKED}")
