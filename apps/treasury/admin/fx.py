"""FX in the admin: the published rates (append-only: read, exported, and added by uploading a CSV
file on a page of its own), and the merchants' quotes and conversions, read only.

A rate's age and whether it is stale (older than its maximum age: it quotes nothing) are worked out
when the page is drawn, by treasury's FX selectors."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from apps.audit.admin_export import CsvExportMixin
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.core.admin_merchants import MerchantAdminMixin
from apps.core.admin_money import MoneyAdminMixin, money_html
from apps.core.admin_readonly import ReadOnlyModelAdmin
from apps.core.exceptions import FincoreError
from apps.treasury.models import FxConversion, FxQuote, FxRate
from apps.treasury.selectors import fx as fx_selectors
from apps.treasury.services import fx as fx_services

# A rates file is a line per pair and publication: 10,000 rates (the import's limit) are under 1 MB.
MAX_RATES_BYTES = 5 * 1024 * 1024
BASIS_POINTS = 10_000


def age_text(seconds: int) -> str:
    """``"45 s"``, ``"4 min"``, ``"2 h"``, ``"3 d"``: the rate's age as staff read it at a glance."""
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86_400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86_400} d"


def spread_text(spread: Any) -> str:
    """``"0.0025 (25 bp)"``."""
    points = (spread * BASIS_POINTS).normalize()
    return f"{spread.normalize():f} ({points:f} bp)"


def _transfer_link(transfer_id: Any) -> SafeString | str:
    if transfer_id is None:
        return "-"
    return format_html('<a href="{}">{}</a>', reverse("admin:ledger_transfer_change", args=[transfer_id]),
                       ids.encode("tr", transfer_id))


def _mode(livemode: bool) -> str:
    return "live" if livemode else "test"


class PairFilter(admin.SimpleListFilter):
    """The pairs published (a handful: one read of the distinct pairs)."""

    title = "pair"
    parameter_name = "pair"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        pairs = FxRate.objects.order_by("base_currency", "quote_currency").values_list(
            "base_currency", "quote_currency").distinct()
        return [(f"{base}/{quote}", f"{base}/{quote}") for base, quote in pairs]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        base, _, quote = (self.value() or "").partition("/")
        return queryset.filter(base_currency=base, quote_currency=quote) if quote else queryset


class FxRatesUploadForm(forms.Form):
    rates = forms.FileField(label="Rates file (CSV)",
                            help_text="Header base,quote,rate,spread,as_of,source[,max_age_seconds]; one rate a line, "
                                      "e.g. USD,BHD,0.376,0.0025,2026-03-01T09:00:00+03:00,CBB,900.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                             help_text="Why these rates are published (the journal keeps it): \"morning fixing\".")

    def clean_rates(self) -> bytes:
        upload = self.cleaned_data["rates"]
        if upload.size > MAX_RATES_BYTES:
            raise forms.ValidationError(f"A rates file is at most {MAX_RATES_BYTES // (1024 * 1024)} MB.")
        self.file_name = upload.name
        return upload.read()


@admin.register(FxRate)
class FxRateAdmin(CsvExportMixin, ReadOnlyModelAdmin):
    """Rates, newest first. Never changed nor deleted: a new rate is uploaded instead."""

    # Short cells so the list fits 1366 px unwrapped; who imported it when is on the rate's page.
    list_display = ["pair", "mid", "spread_bp", "source", "published", "age", "freshness"]
    list_filter = [PairFilter, "source"]
    search_fields = ["source", "imported_by"]
    ordering = ["-as_of", "base_currency", "quote_currency"]
    date_hierarchy = "as_of"
    fields = ["pair", "mid_rate", "spread_bp", "source", "as_of", "age", "freshness", "max_age_seconds",
              "imported_by", "imported_at"]
    readonly_fields = fields

    @admin.display(description="Pair", ordering="base_currency")
    def pair(self, rate: FxRate) -> str:
        return f"{rate.base_currency}/{rate.quote_currency}"

    @admin.display(description="Spread", ordering="spread")
    def spread_bp(self, rate: FxRate) -> str:
        return spread_text(rate.spread)

    @admin.display(description="Mid rate", ordering="mid_rate")
    def mid(self, rate: FxRate) -> str:
        return f"{rate.mid_rate.normalize():f}"

    @admin.display(description="As of", ordering="as_of")
    def published(self, rate: FxRate) -> str:
        return f"{timezone.localtime(rate.as_of):%d %b %Y %H:%M}"

    @admin.display(description="Age (of max)")
    def age(self, rate: FxRate) -> SafeString:
        return format_html('{} <span class="quiet">of {}</span>', age_text(fx_selectors.rate_age_seconds(rate)),
                           age_text(rate.max_age_seconds))

    @admin.display(description="Stale?")
    def freshness(self, rate: FxRate) -> SafeString:
        if fx_selectors.rate_is_stale(rate, now=clock.now()):
            return format_html('<strong class="fx-stale" style="color:#ba2121">{}</strong>', "STALE")
        return format_html('<span class="fx-fresh">{}</span>', "fresh")

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("treasury.import_fxrate")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        links = [("Upload rates (CSV)", reverse("admin:treasury_fxrate_import"))] \
            if self.has_import_permission(request) else []
        return super().changelist_view(request, {**(extra_context or {}), "object_tools_links": links})

    def get_urls(self) -> list:
        return [path("import/", self.admin_site.admin_view(self.import_view), name="treasury_fxrate_import"),
                *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = FxRatesUploadForm(request.POST or None, request.FILES or None)
        refused: list[dict[str, Any]] = []
        if request.method == "POST" and form.is_valid():
            try:
                rates = fx_services.fx_rates_import(content=form.cleaned_data["rates"],
                                                    actor=Actor.staff(request.user),
                                                    reason=form.cleaned_data["reason"], filename=form.file_name)
            except fx_services.FxRatesRefused as refusal:
                refused = sorted(refusal.extensions.get("errors", []), key=lambda error: error["line"])
                form.add_error("rates", "The file was refused: no rate of it was stored. Correct the lines "
                                        "below and upload it again.")
            except FincoreError as refusal:
                form.add_error("rates", refusal.detail)
            else:
                pairs = ", ".join(sorted({f"{rate.base_currency}/{rate.quote_currency}" for rate in rates}))
                self.message_user(request, f"{len(rates)} rate(s) stored from {form.file_name} ({pairs}).",
                                  messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:treasury_fxrate_changelist"))
        page = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                "refused": refused, "title": "Upload FX rates (CSV)", "media": self.media}
        return TemplateResponse(request, "admin/treasury/fxrate/import.html", page)


@admin.register(FxQuote)
class FxQuoteAdmin(CsvExportMixin, MerchantAdminMixin, MoneyAdminMixin, ReadOnlyModelAdmin):
    """Prices merchants asked for, newest first; executed ones link to their conversion."""

    money_fields = {"sell_amount": "sell_currency", "buy_amount": "buy_currency"}
    list_display = ["public_id", "created_at", "merchant_name", "mode", "sell_amount_money", "buy_amount_money",
                    "client_rate", "spread_bp", "expires_at", "executed"]
    list_filter = ["livemode", "sell_currency", "buy_currency"]
    list_select_related = ["conversion"]
    date_hierarchy = "created_at"
    fields = ["public_id", "merchant_name", "mode", "sell_amount_money", "buy_amount_money", "fixed_side",
              "client_rate", "mid_rate", "spread_bp", "inverted", "rate_link", "rounding_currency",
              "rounding_difference", "created_at", "expires_at", "created_by", "executed"]
    readonly_fields = fields

    @admin.display(description="Quote", ordering="id")
    def public_id(self, quote: FxQuote) -> str:
        return ids.encode("fxq", quote.pk)

    @admin.display(description="Mode", ordering="livemode")
    def mode(self, obj: FxQuote) -> str:
        return _mode(obj.livemode)

    @admin.display(description="Spread", ordering="spread")
    def spread_bp(self, quote: FxQuote) -> str:
        return spread_text(quote.spread)

    @admin.display(description="Published rate")
    def rate_link(self, quote: FxQuote) -> SafeString:
        return format_html('<a href="{}">{}</a>', reverse("admin:treasury_fxrate_change", args=[quote.rate_id]),
                           quote.rate)

    @admin.display(description="Executed")
    def executed(self, quote: FxQuote) -> SafeString | str:
        conversion = getattr(quote, "conversion", None)
        if conversion is None:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("admin:treasury_fxconversion_change", args=[conversion.pk]),
                           ids.encode("fxc", conversion.pk))


@admin.register(FxConversion)
class FxConversionAdmin(CsvExportMixin, MerchantAdminMixin, ReadOnlyModelAdmin):
    """Executed quotes, newest first, with the ledger transfers that moved the money."""

    list_display = ["public_id", "created_at", "merchant_name", "mode", "sold", "bought", "client_rate",
                    "sell_transfer", "buy_transfer"]
    list_filter = ["livemode"]
    list_select_related = ["quote"]
    date_hierarchy = "created_at"
    fields = ["public_id", "quote_link", "merchant_name", "mode", "sold", "bought", "client_rate", "spread_bp",
              "sell_account", "buy_account", "sell_transfer", "buy_transfer", "rounding_transfer", "created_at",
              "created_by"]
    readonly_fields = fields

    @admin.display(description="Conversion", ordering="id")
    def public_id(self, conversion: FxConversion) -> str:
        return ids.encode("fxc", conversion.pk)

    @admin.display(description="Mode", ordering="livemode")
    def mode(self, obj: FxConversion) -> str:
        return _mode(obj.livemode)

    @admin.display(description="Quote")
    def quote_link(self, conversion: FxConversion) -> SafeString:
        return format_html('<a href="{}">{}</a>', reverse("admin:treasury_fxquote_change", args=[conversion.quote_id]),
                           ids.encode("fxq", conversion.quote_id))

    @admin.display(description="Sold")
    def sold(self, conversion: FxConversion) -> SafeString:
        return money_html(conversion.quote.sell_amount, conversion.quote.sell_currency)

    @admin.display(description="Bought")
    def bought(self, conversion: FxConversion) -> SafeString:
        return money_html(conversion.quote.buy_amount, conversion.quote.buy_currency)

    @admin.display(description="Client rate")
    def client_rate(self, conversion: FxConversion) -> str:
        return str(conversion.quote.client_rate)

    @admin.display(description="Spread")
    def spread_bp(self, conversion: FxConversion) -> str:
        return spread_text(conversion.quote.spread)

    @admin.display(description="Sell wallet")
    def sell_account(self, conversion: FxConversion) -> SafeString:
        return _account_link(conversion.sell_account_id)

    @admin.display(description="Buy wallet")
    def buy_account(self, conversion: FxConversion) -> SafeString:
        return _account_link(conversion.buy_account_id)

    @admin.display(description="Sell transfer")
    def sell_transfer(self, conversion: FxConversion) -> SafeString | str:
        return _transfer_link(conversion.sell_transfer_id)

    @admin.display(description="Buy transfer")
    def buy_transfer(self, conversion: FxConversion) -> SafeString | str:
        return _transfer_link(conversion.buy_transfer_id)

    @admin.display(description="Rounding transfer")
    def rounding_transfer(self, conversion: FxConversion) -> SafeString | str:
        return _transfer_link(conversion.rounding_transfer_id)


def _account_link(account_id: Any) -> SafeString:
    return format_html('<a href="{}">{}</a>', reverse("admin:ledger_account_change", args=[account_id]),
                       ids.encode("acc", account_id))
