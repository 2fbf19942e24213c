"""Imported bank statements in the admin, read only, with their lines; a statement file is imported
on a page of its own (treasury), which calls the import service: every statement of the file or
nothing."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.audit.admin_export import CsvExportMixin
from apps.core.actors import Actor
from apps.core.admin_money import MoneyAdminMixin
from apps.core.admin_readonly import ReadOnlyAdminMixin, ReadOnlyModelAdmin
from apps.core.exceptions import FincoreError
from apps.reconciliation.models import BankStatement, BankStatementLine
from apps.reconciliation.selectors import mappings as mapping_selectors
from apps.reconciliation.selectors import statements as selectors
from apps.reconciliation.services import statements as services

# A day's camt.053 for a busy account is a few MB; anything far larger is no statement.
MAX_STATEMENT_BYTES = 50 * 1024 * 1024


class BankStatementLineInline(MoneyAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = BankStatementLine
    money_fields = {"amount": "currency"}
    fields = ["position", "amount_money", "booking_date", "value_date", "reference", "end_to_end_id",
              "bank_reference", "counterparty_name", "counterparty_account", "description"]
    readonly_fields = fields
    ordering = ["position"]
    extra = 0
    can_delete = False


class StatementImportForm(forms.Form):
    statement = forms.FileField(label="Statement file",
                                help_text="camt.053 or camt.054 (XML), MT940/MT942, or a bank's CSV, as the bank "
                                          "sent it.")
    nostro = forms.ChoiceField(required=False, help_text="Leave empty to find each statement's nostro by its IBAN "
                                                         "(a CSV's nostro is then its mapping's).")
    mapping = forms.ChoiceField(required=False, label="CSV mapping",
                                help_text="For a CSV: how it reads. Leave empty to use the nostro's mapping (its "
                                          "own, or its bank's).")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["nostro"].choices = [("", "By the statement's IBAN"),
                                         *((code, code) for code in selectors.nostro_codes())]
        self.fields["mapping"].choices = [("", "The nostro's mapping (for a CSV)"),
                                          *((name, name) for name in mapping_selectors.csv_mapping_names())]

    def clean_statement(self) -> bytes:
        upload = self.cleaned_data["statement"]
        if upload.size > MAX_STATEMENT_BYTES:
            raise forms.ValidationError(f"A statement file is at most {MAX_STATEMENT_BYTES // (1024 * 1024)} MB.")
        self.file_name = upload.name
        return upload.read()


@admin.register(BankStatement)
class BankStatementAdmin(MoneyAdminMixin, CsvExportMixin, ReadOnlyModelAdmin):
    money_fields = {"opening_balance": "currency", "closing_balance": "currency"}
    list_display = ["statement_id", "sequence", "nostro", "format", "currency", "opening_date",
                    "opening_balance_money", "closing_date", "closing_balance_money", "imported_at", "imported_by"]
    list_select_related = ["nostro"]
    list_filter = ["format", "currency", "nostro"]
    search_fields = ["statement_id", "account", "file_name", "sha256"]
    date_hierarchy = "imported_at"
    fields = ["nostro", "format", "version", "statement_id", "sequence", "account", "currency", "opening_date",
              "opening_balance_money", "closing_date", "closing_balance_money", "created_at", "file_name",
              "file_index", "sha256", "imported_at", "imported_by"]
    readonly_fields = fields
    inlines = [BankStatementLineInline]
    csv_exclude = ("content",)

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("reconciliation.import_bankstatement")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        links = [("Import a statement", reverse("admin:reconciliation_bankstatement_import"))] \
            if self.has_import_permission(request) else []
        return super().changelist_view(request, {**(extra_context or {}), "object_tools_links": links})

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view),
                     name="reconciliation_bankstatement_import"), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = StatementImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            nostro = form.cleaned_data["nostro"]
            try:
                statements = services.statement_import(
                    content=form.cleaned_data["statement"], file_name=form.file_name, actor=Actor.staff(request.user),
                    nostro_code=nostro or None, mapping_name=form.cleaned_data["mapping"] or None)
            except FincoreError as refused:
                form.add_error("statement", refused.detail)
            else:
                names = ", ".join(f"{statement.statement_id} {statement.sequence}".strip() for statement in statements)
                self.message_user(request, f"{form.file_name}: {len(statements)} statement(s) imported ({names}).",
                                  messages.SUCCESS)
                if len(statements) == 1:
                    return HttpResponseRedirect(reverse("admin:reconciliation_bankstatement_change",
                                                        args=[statements[0].pk]))
                return HttpResponseRedirect(reverse("admin:reconciliation_bankstatement_changelist"))
        page = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                "title": "Import a bank statement", "media": self.media}
        return TemplateResponse(request, "admin/reconciliation/bankstatement/import.html", page)
