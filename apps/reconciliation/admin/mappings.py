"""CSV statement mappings: how each bank's CSV export reads, kept by treasury with a reason (the
audit trail records every change). The form checks that the mapping is usable and, when a sample
file is attached, that it reads the sample; nothing of the sample is stored."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from apps.audit.admin_export import CsvExportMixin
from apps.core.admin import AuditedAdminMixin
from apps.reconciliation.adapters.csv_statement import csv_parse
from apps.reconciliation.data import StatementRefused
from apps.reconciliation.models import CsvStatementMapping
from apps.reconciliation.selectors.mappings import saved_mapping

MAX_SAMPLE_BYTES = 5 * 1024 * 1024


class CsvStatementMappingForm(forms.ModelForm):
    sample = forms.FileField(required=False, label="Sample file (optional)",
                             help_text="A CSV the bank sent: the mapping must read it. Not stored.")

    class Meta:
        model = CsvStatementMapping
        fields = ["name", "nostro", "bank_bic", "columns_by_index", "booking_date", "amount", "debit", "credit",
                  "currency", "currency_column", "value_date", "reference", "end_to_end_id", "bank_reference",
                  "counterparty_name", "counterparty_account", "description", "statement_id", "opening_balance",
                  "closing_balance", "delimiter", "encoding", "header_rows", "date_format", "decimal_separator",
                  "thousands_separator"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        draft = CsvStatementMapping(**{field.name: cleaned.get(field.name, getattr(self.instance, field.name))
                                       for field in CsvStatementMapping._meta.concrete_fields
                                       if field.name in cleaned and field.name != "nostro"})
        try:
            mapping = saved_mapping(draft).mapping
        except ValueError as unusable:
            raise forms.ValidationError(f"The mapping cannot read a file: {unusable}.") from None
        sample = cleaned.get("sample")
        if sample:
            if sample.size > MAX_SAMPLE_BYTES:
                self.add_error("sample", "A sample is at most 5 MB.")
                return cleaned
            try:
                (statement,) = csv_parse(sample.read(), mapping, account="sample")
            except StatementRefused as refused:
                where = f"line {refused.line}: " if refused.line else ""
                self.add_error("sample", f"The mapping does not read this file: {where}{refused.reason}.")
            else:
                self.sample_lines = len(statement.lines)
        return cleaned


@admin.register(CsvStatementMapping)
class CsvStatementMappingAdmin(CsvExportMixin, AuditedAdminMixin, admin.ModelAdmin):
    form = CsvStatementMappingForm
    list_display = ["name", "nostro", "bank_bic", "columns_by_index", "booking_date", "amount", "debit", "credit",
                    "currency", "currency_column", "delimiter", "date_format", "decimal_separator", "updated_at"]
    list_select_related = ["nostro"]
    search_fields = ["name", "nostro__code", "bank_bic"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "nostro", "bank_bic"]}),
        ("The file", {"fields": ["delimiter", "encoding", "header_rows", "date_format", "decimal_separator",
                                 "thousands_separator", "columns_by_index"]}),
        ("Amount and currency", {"fields": ["booking_date", "value_date", "amount", "debit", "credit", "currency",
                                            "currency_column"],
                                 "description": "A signed amount column, or a debit and a credit column; a fixed "
                                                "currency, or a currency column."}),
        ("Other columns", {"fields": ["reference", "end_to_end_id", "bank_reference", "counterparty_name",
                                      "counterparty_account", "description", "statement_id", "opening_balance",
                                      "closing_balance"]}),
        ("Check", {"fields": ["sample", "created_at", "updated_at"]}),
    ]

    def save_model(self, request: HttpRequest, obj: CsvStatementMapping, form: forms.Form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if (lines := getattr(form, "sample_lines", None)) is not None:
            self.message_user(request, f"The sample reads as {lines} statement line(s).")
