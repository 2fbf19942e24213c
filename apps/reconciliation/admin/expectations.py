"""Expectations in the admin: read only, with the matches that settled each; treasury declares one
by hand on a page of its own, which calls the declare service (journaled with the reason)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from apps.audit.admin_export import CsvExportMixin
from apps.core.actors import Actor
from apps.core.admin_money import MoneyAdminMixin, MoneyField, minor_units, money_html, money_text
from apps.core.admin_readonly import ReadOnlyModelAdmin
from apps.core.exceptions import FincoreError
from apps.reconciliation.models import Expectation
from apps.reconciliation.selectors import expectations as selectors
from apps.reconciliation.selectors import statements as statement_selectors
from apps.reconciliation.services import expectations as services


class DeclareExpectationForm(forms.Form):
    nostro = forms.ChoiceField(help_text="The fincore bank account the money moves through.")
    amount = MoneyField(label="Amount", help_text="Signed, in major units: 1.250 BHD in, -1.250 BHD out.")
    expected_date = forms.DateField(label="Expected date", help_text="The booking date the bank should show "
                                                                     "(YYYY-MM-DD).")
    date_tolerance_days = forms.IntegerField(label="Date tolerance (days)", min_value=0,
                                             max_value=services.MAX_DATE_TOLERANCE_DAYS, initial=0)
    amount_tolerance = forms.CharField(label="Amount tolerance", initial="0", max_length=40,
                                       help_text="In major units of the amount's currency, either side.")
    reference = forms.CharField(max_length=140, required=False, help_text="What the bank should print.")
    counterparty_name = forms.CharField(label="Counterparty", max_length=140, required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Why it is expected (journaled).")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["nostro"].choices = [(code, code) for code in statement_selectors.nostro_codes()]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        amount = cleaned.get("amount")
        if amount is not None and "amount_tolerance" in cleaned:
            try:
                cleaned["amount_tolerance"] = minor_units(cleaned["amount_tolerance"], amount.currency)
            except forms.ValidationError as invalid:
                self.add_error("amount_tolerance", invalid)
        return cleaned


@admin.register(Expectation)
class ExpectationAdmin(MoneyAdminMixin, CsvExportMixin, ReadOnlyModelAdmin):
    money_fields = {"amount": "currency", "reconciled_amount": "currency", "amount_tolerance": "currency"}
    # What fits at 1366 px beside the filters; the settled amount, counterparty and SLA are on its page.
    list_display = ["expected_date", "nostro", "source", "amount_money", "state", "reference"]
    list_select_related = ["nostro"]
    list_filter = ["state", "source", "nostro", "currency", "expected_date"]
    search_fields = ["source_id", "reference", "end_to_end_id", "group_key", "counterparty_name"]
    date_hierarchy = "expected_date"
    fields = ["nostro", "source", "source_id", "amount_money", "expected_date", "date_tolerance_days",
              "amount_tolerance_money", "state", "reconciled_amount_money", "missing_after", "reference",
              "end_to_end_id", "counterparty_name", "group_key", "description", "metadata", "created_at",
              "created_by", "settled_by"]
    readonly_fields = fields

    def has_declare_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("reconciliation.declare_expectation")

    @admin.display(description="Settled by")
    def settled_by(self, expectation: Expectation) -> str:
        matches = selectors.expectation_settled_by(expectation.pk)
        if not matches:
            return "No statement line yet."
        rows = []
        for match in matches:
            lines = format_html_join(
                ", ", '<a href="{}">{} #{}</a> {} {}',
                ((reverse("admin:reconciliation_bankstatement_change", args=[line.statement_id]),
                  line.statement.statement_id, line.position, line.booking_date, money_html(line.amount, line.currency))
                 for line in match.lines))
            how = f"rule {match.rule}" if match.rule else f"by {match.created_by}"
            rows.append((money_html(match.amount, expectation.currency), how, match.created_at, lines))
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} ({}, {}): {}</li>", rows))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        links = [("Declare an expectation", reverse("admin:reconciliation_expectation_declare"))] \
            if self.has_declare_permission(request) else []
        return super().changelist_view(request, {**(extra_context or {}), "object_tools_links": links})

    def get_urls(self):
        return [path("declare/", self.admin_site.admin_view(self.declare_view),
                     name="reconciliation_expectation_declare"), *super().get_urls()]

    def declare_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_declare_permission(request):
            raise PermissionDenied
        form = DeclareExpectationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                expectation = services.expectation_declare(
                    nostro_code=data["nostro"], amount=data["amount"].amount, currency=data["amount"].currency,
                    expected_date=data["expected_date"], date_tolerance_days=data["date_tolerance_days"],
                    amount_tolerance=data["amount_tolerance"], reference=data["reference"],
                    counterparty_name=data["counterparty_name"], reason=data["reason"],
                    actor=Actor.staff(request.user))
            except FincoreError as refused:
                form.add_error(None, refused.detail)
            else:
                self.message_user(request, f"Expected {money_text(expectation.amount, expectation.currency)} on "
                                           f"{expectation.nostro_id} on {expectation.expected_date}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:reconciliation_expectation_change",
                                                    args=[expectation.pk]))
        page = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                "title": "Declare an expectation", "media": self.media + form.media}
        return TemplateResponse(request, "admin/reconciliation/expectation/declare.html", page)
