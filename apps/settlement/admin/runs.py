"""Settlement runs and their merchant lines in the admin, read only: runs are made by the run
(beat, or ``manage.py settlement_run``), never here. A run's page shows its progress (and reloads
itself every 5 seconds while it runs), its totals and why it failed; a failed run is resumed with
"Resume" (a treasury operator's decision, journaled, handed to a settlement worker). A line's page
leads to the payments and refunds it sums."""

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from apps.audit.admin_export import CsvExportMixin
from apps.core import ids
from apps.core.actors import Actor
from apps.core.admin_filters import FilterInput, TypedInputFilter
from apps.core.admin_merchants import MerchantAdminMixin
from apps.core.admin_money import MoneyAdminMixin, money_html, money_text
from apps.core.admin_readonly import CappedCountPaginator, PublicIdSearchMixin, ReadOnlyModelAdmin
from apps.core.exceptions import FincoreError
from apps.settlement import selectors, services
from apps.settlement.admin.shared import CurrencyFilter, ReasonField, SettlementMedia, percent_text, uuid_or_none
from apps.settlement.models import SettlementLine, SettlementRun

RESUME_PERMISSION = "settlement.resume_settlementrun"
# While a run runs, its page reloads itself this often (a meta refresh: no script).
REFRESH_SECONDS = 5
TOTALS = ("gross", "refunds", "fees", "reserve_held", "reserve_released", "net")


def progress_html(run: SettlementRun) -> SafeString:
    """``[=====   ] 3 of 5 merchants``: a native progress bar, readable without its colour."""
    if not run.merchants:
        return format_html('<span class="settlement-progress">{}</span>',
                           "no merchants" if run.status == SettlementRun.Status.COMPLETED else "computing lines")
    return format_html('<span class="settlement-progress"><progress value="{}" max="{}" title="{} %"></progress> '
                       '{} of {}</span>', run.merchants_settled, run.merchants,
                       run.merchants_settled * 100 // run.merchants, run.merchants_settled, run.merchants)


def status_html(run: SettlementRun, *, short: bool = False) -> SafeString:
    label = run.status.capitalize() if short else run.get_status_display()
    return format_html('<span class="run-status run-status-{}">{}</span>', run.status, label)


def lines_url(run: SettlementRun) -> str:
    return f"{reverse('admin:settlement_settlementline_changelist')}?{urlencode({'run': services.run_public_id(run)})}"


def run_link(run: SettlementRun | None) -> str:
    if run is None:
        return "-"
    return format_html('<a href="{}">{} {}</a>', reverse("admin:settlement_settlementrun_change", args=[run.pk]),
                       run.currency, f"{run.business_date:%Y-%m-%d}")


def _completed_total(field: str) -> Any:
    """A list column: the run's total once it completed (a run writes its totals when it finishes)."""

    def column(modeladmin: Any, run: SettlementRun) -> SafeString | str:
        if run.status != SettlementRun.Status.COMPLETED:
            return "-"
        return money_html(getattr(run, field), run.currency)

    column.__name__ = f"{field}_money"
    return admin.display(description=field.replace("_", " ").capitalize(), ordering=field)(column)


class ResumeForm(forms.Form):
    reason = ReasonField(help_text="Why it may go on now (the incident, what was fixed): kept in the journal with "
                                   "your name.")


@admin.register(SettlementRun)
class SettlementRunAdmin(CsvExportMixin, MoneyAdminMixin, PublicIdSearchMixin, ReadOnlyModelAdmin):
    """One run per business date and currency, newest first. Search: an ``sr_`` id, or words of
    a failure."""

    public_id_prefix = "sr"
    money_fields = {**{field: "currency" for field in TOTALS}, "fee_rounding_difference": "currency"}
    # What fits a 1366 px screen: refunds and the reserve are on the run's page.
    list_display = ("run_name", "status_shown", "progress", "gross_money", "fees_money", "net_money", "attempts")
    list_filter = ("status", CurrencyFilter)
    search_fields = ("failure",)
    search_help_text = "An sr_ id, or words of a failure."
    date_hierarchy = "business_date"
    readonly_fields = ("public_id", "status_long", "progress", "lines_summary", "totals",
                       "fee_rounding_difference_money", "failure_shown")
    gross_money = _completed_total("gross")
    fees_money = _completed_total("fees")
    net_money = _completed_total("net")
    Media = SettlementMedia

    def get_fieldsets(self, request: HttpRequest, obj: SettlementRun | None = None) -> list:
        fieldsets = [
            (None, {"fields": ("public_id", "business_date", "currency", "status_long", "progress",
                               "lines_summary", "attempts")}),
            ("Totals", {"fields": ("totals", "fee_rounding_difference_money")}),
            ("Period and who ran it", {"fields": ("period_start", "period_end", "started_by", "started_at",
                                                  "finished_at", "updated_at")}),
        ]
        if obj is not None and obj.failure:
            fieldsets.insert(1, ("Failure", {"fields": ("failure_shown",)}))
        return fieldsets

    @admin.display(description="Run", ordering="business_date")
    def run_name(self, run: SettlementRun) -> str:
        return f"{run.currency} {run.business_date:%Y-%m-%d}"

    @admin.display(description="Status", ordering="status")
    def status_shown(self, run: SettlementRun) -> SafeString:
        return status_html(run, short=True)

    @admin.display(description="Status")
    def status_long(self, run: SettlementRun) -> SafeString:
        return status_html(run)

    @admin.display(description="Merchants settled")
    def progress(self, run: SettlementRun) -> SafeString:
        return progress_html(run)

    @admin.display(description="Lines")
    def lines_summary(self, run: SettlementRun) -> SafeString:
        counts = dict(run.lines.order_by().values_list("status").annotate(Count("pk")))
        labels = dict(SettlementLine.Status.choices)
        parts = ", ".join(f"{counts[status]} {labels[status].split(' (')[0].lower()}"
                          for status in SettlementLine.Status.values if counts.get(status))
        total = sum(counts.values())
        return format_html('<a href="{}" class="run-lines">{} line{}</a>{}', lines_url(run), total,
                           "" if total == 1 else "s", f": {parts}" if parts else "")

    @admin.display(description="Amounts")
    def totals(self, run: SettlementRun) -> SafeString:
        figures = selectors.run_totals(run)
        rows = format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>', (
            (field.replace("_", " ").capitalize(), money_html(getattr(figures, field), run.currency))
            for field in TOTALS))
        note = ("" if run.status == SettlementRun.Status.COMPLETED
                else mark_safe('<p class="help">So far: the lines computed, as the run has not completed.</p>'))
        return format_html('<table class="run-totals"><tbody>{}</tbody></table>{}', rows, note)

    @admin.display(description="Failure")
    def failure_shown(self, run: SettlementRun) -> SafeString:
        return format_html('<div class="run-failure">{}</div>', run.failure)

    # --- resuming a failed run -----------------------------------------------------------------------

    def has_resume_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RESUME_PERMISSION)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # The journal keeps a run by its public id (sr_...), not its primary key.
        run_id = uuid_or_none(unquote(object_id))
        extra_context = {**(extra_context or {}), "may_resume": self.has_resume_permission(request),
                         "refresh_seconds": REFRESH_SECONDS,
                         "journal_object_id": ids.encode("sr", run_id) if run_id else ""}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list:
        return [path("<path:object_id>/resume/", self.admin_site.admin_view(self.resume_view),
                     name="settlement_settlementrun_resume"),
                *super().get_urls()]

    def resume_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Ask a settlement worker to resume a failed run, with a reason (journaled)."""
        if not self.has_resume_permission(request):
            raise PermissionDenied
        run = self.get_object(request, unquote(object_id))
        if run is None:
            raise Http404("No such settlement run.")
        page = reverse("admin:settlement_settlementrun_change", args=[run.pk])
        if run.status != SettlementRun.Status.FAILED:
            self.message_user(request, f"The run is {run.get_status_display().lower()}: only a failed run is "
                                       "resumed.", messages.WARNING)
            return HttpResponseRedirect(page)
        form = ResumeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.settlement_run_resume_request(run_id=run.pk, actor=Actor.staff(request.user),
                                                       reason=form.cleaned_data["reason"])
            except FincoreError as refused:
                form.add_error(None, refused.detail)
            else:
                self.message_user(request, f"Resume requested: a settlement worker resumes the {run} run in a "
                                           "moment; this page shows its progress.", messages.SUCCESS)
                return HttpResponseRedirect(page)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form, "run": run,
                   "title": f"Resume the {run} run", "progress": progress_html(run), "media": self.media}
        return TemplateResponse(request, "admin/settlement/settlementrun/resume.html", context)


# --- lines ----------------------------------------------------------------------------------------------


class RunFilter(TypedInputFilter):
    """The lines of one run, by its ``sr_`` id (a run's page links here)."""

    title = "run"
    parameters = ("run",)

    def inputs(self) -> list[FilterInput]:
        return [FilterInput("run", "Run (sr_ id)", self.values.get("run", ""), placeholder="sr_…")]

    def filter_by(self, queryset: QuerySet, values: dict[str, str]) -> QuerySet:
        run_id = ids.decode("sr", values["run"])
        if run_id is None:
            raise IncorrectLookupParameters(f"{values['run']!r} is not a run's sr_ id")
        return queryset.filter(run_id=run_id)


def _changelist(model: str, **filters: Any) -> str:
    return f"{reverse(f'admin:{model}_changelist')}?{urlencode(filters)}"


@admin.register(SettlementLine)
class SettlementLineAdmin(CsvExportMixin, MerchantAdminMixin, MoneyAdminMixin, PublicIdSearchMixin,
                          ReadOnlyModelAdmin):
    """Each merchant's business date in one currency and mode, as its run settled it (newest run
    first). Search: an ``stl_`` id, a run's ``sr_``, ``mer_…`` or the merchant's legal name, or words
    of a payout or carried note."""

    public_id_prefix = "stl"
    related_public_ids = (("sr", "run_id"),)
    money_fields = {field: "currency" for field in ("gross", "refunds", "refunds_from_pending", "fees_charged",
                                                   "fees_returned", "fees", "reserve_held", "reserve_released",
                                                   "net")}
    # What fits a 1366 px screen: the date, currency and mode in one column, the captures under the
    # gross, the payout note under the status; the stl_ id and the rest are on the line's page.
    list_display = ("line_name", "merchant_name", "status_and_payout", "gross_and_captures", "refunds_money",
                    "fees_money", "reserve", "net_money")
    list_filter = (RunFilter, "status", CurrencyFilter)
    search_fields = ("payout_note", "carried_note")
    search_help_text = ("An stl_ or sr_ id, a mer_ id or the merchant's legal name, or words of a payout or carried "
                        "note.")
    ordering = ("-run_id", "merchant_id", "livemode")
    paginator = CappedCountPaginator
    show_full_result_count = False
    readonly_fields = ("public_id", "run_shown", "merchant_name", "mode", "settled_in_shown", "released_by_shown",
                       "fee_schedule_shown", "payments_link", "refunds_link", "fees_exact_shown")
    fieldsets = (
        (None, {"fields": ("public_id", "run_shown", "merchant_name", "mode", "business_date", "currency", "status",
                           "carried_note", "settled_in_shown", "settled_at")}),
        ("Money", {"fields": ("captures", "gross_money", "refund_count", "refunds_money", "refunds_from_pending_money",
                              "fees_charged_money", "fees_returned_money", "fees_money", "fees_exact_shown",
                              "reserve_held_money", "reserve_release_on", "reserve_released_money",
                              "released_by_shown", "net_money")}),
        ("Its payments and refunds", {"fields": ("payments_link", "refunds_link", "fee_schedule_shown")}),
        ("Payout", {"fields": ("payout_id", "payout_note")}),
    )
    Media = SettlementMedia

    def get_queryset(self, request: HttpRequest) -> QuerySet[SettlementLine]:
        queryset = super().get_queryset(request)
        # A line's page reads its runs; the list reads none.
        if request.resolver_match and request.resolver_match.url_name == "settlement_settlementline_change":
            queryset = queryset.select_related("run", "settled_in", "released_by__run")
        return queryset

    @admin.display(description="Mode", ordering="livemode")
    def mode(self, line: SettlementLine) -> str:
        return "live" if line.livemode else "test"

    @admin.display(description="Business date, currency, mode", ordering="business_date")
    def line_name(self, line: SettlementLine) -> SafeString:
        return format_html('{} {}<span class="line-mode">{}</span>', f"{line.business_date:%Y-%m-%d}", line.currency,
                           self.mode(line))

    @admin.display(description="Status, payout", ordering="status")
    def status_and_payout(self, line: SettlementLine) -> SafeString:
        return format_html('{}<span class="line-note">{}</span>', line.get_status_display().split(" (")[0],
                           line.payout_note)

    @admin.display(description="Gross (captures)", ordering="gross")
    def gross_and_captures(self, line: SettlementLine) -> SafeString:
        return format_html('{}<span class="line-note">{} capture{}</span>', money_html(line.gross, line.currency),
                           line.captures, "" if line.captures == 1 else "s")

    @admin.display(description="Reserve held / released")
    def reserve(self, line: SettlementLine) -> SafeString:
        return format_html("{}{}", money_html(line.reserve_held, line.currency),
                           money_html(line.reserve_released, line.currency))

    @admin.display(description="Fees exact")
    def fees_exact_shown(self, line: SettlementLine) -> str:
        """The fees before rounding: the run posts what rounding each fee gained or lost."""
        return f"{line.fees_exact.normalize():f} minor units of {line.currency}"

    @admin.display(description="Run")
    def run_shown(self, line: SettlementLine) -> str:
        return run_link(line.run)

    @admin.display(description="Settled in")
    def settled_in_shown(self, line: SettlementLine) -> str:
        return run_link(line.settled_in)

    @admin.display(description="Reserve released by")
    def released_by_shown(self, line: SettlementLine) -> str:
        released_by = line.released_by
        if released_by is None:
            return "-"
        url = reverse("admin:settlement_settlementline_change", args=[released_by.pk])
        return format_html('<a href="{}">{}</a> ({})', url, services.line_public_id(released_by),
                           run_link(released_by.run))

    def _filters(self, line: SettlementLine) -> dict[str, Any]:
        return {"merchant": ids.encode("mer", line.merchant_id), "livemode__exact": int(line.livemode),
                "currency": line.currency}

    @admin.display(description="Payments captured")
    def payments_link(self, line: SettlementLine) -> str:
        """The payments captured in the line's business date: in its run's period."""
        url = _changelist("payments_payment", **self._filters(line),
                          captured_at__gte=line.run.period_start.isoformat(),
                          captured_at__lt=line.run.period_end.isoformat())
        return format_html('<a href="{}" class="line-payments">{} payment{} captured</a> from {} to {}', url,
                           line.captures, "" if line.captures == 1 else "s", _local(line.run.period_start),
                           _local(line.run.period_end))

    @admin.display(description="Refunds")
    def refunds_link(self, line: SettlementLine) -> str:
        """The refunds that succeeded in the line's business date."""
        url = _changelist("payments_refund", **self._filters(line), status__exact="succeeded",
                          resolved_at__gte=line.run.period_start.isoformat(),
                          resolved_at__lt=line.run.period_end.isoformat())
        return format_html('<a href="{}" class="line-refunds">{} refund{} succeeded</a>', url, line.refund_count,
                           "" if line.refund_count == 1 else "s")

    @admin.display(description="Prices")
    def fee_schedule_shown(self, line: SettlementLine) -> SafeString | str:
        if not line.fee_schedule:
            return "-"
        rows = format_html_join("", "<tr><th scope=\"row\">{}</th><td>{}</td><td>{} from {}</td></tr>", (
            (method, _price(priced, line.currency), priced.get("plan", "?"), priced.get("effective_from", "?"))
            for method, priced in sorted(line.fee_schedule.items())))
        return format_html('<table class="line-prices"><tbody>{}</tbody></table>', rows)


def _price(priced: dict[str, Any], currency: str) -> str:
    text = percent_text(Decimal(priced["percent"]))
    if priced.get("fixed"):
        text += f" + {money_text(priced['fixed'], currency)}"
    if priced.get("minimum") is not None:
        text += f", at least {money_text(priced['minimum'], currency)}"
    if priced.get("maximum") is not None:
        text += f", at most {money_text(priced['maximum'], currency)}"
    return text


def _local(moment: Any) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
