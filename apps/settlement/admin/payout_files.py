"""Payout files and the bank's status reports in the admin, read only. A file's XML is downloaded as
it was released; a status report is imported on a page of its own (treasury), which calls the
import service: all of the report or nothing, the same report twice changing nothing."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.audit.admin_export import CsvExportMixin
from apps.core.actors import Actor
from apps.core.admin_money import MoneyAdminMixin
from apps.core.admin_readonly import ReadOnlyModelAdmin
from apps.core.exceptions import FincoreError
from apps.settlement import services
from apps.settlement.admin.shared import CurrencyFilter, ObjectToolsMixin
from apps.settlement.models import PayoutFile, StatusReport

# A pain.002 for a file of thousands of payouts is a few MB; anything far larger is no status report.
MAX_REPORT_BYTES = 20 * 1024 * 1024


@admin.register(PayoutFile)
class PayoutFileAdmin(MoneyAdminMixin, CsvExportMixin, ReadOnlyModelAdmin):
    money_fields = {"control_sum": "currency"}
    list_display = ["message_id", "currency", "nostro", "payouts", "control_sum_money", "requested_execution_date",
                    "created_at", "download"]
    list_filter = [CurrencyFilter, "nostro"]
    search_fields = ["message_id"]
    date_hierarchy = "created_at"
    exclude = ["document"]
    csv_exclude = ("document",)

    @admin.display(description="XML")
    def download(self, payout_file: PayoutFile) -> str:
        url = reverse("admin:settlement_payoutfile_download", args=[payout_file.pk])
        return format_html('<a href="{}">{}.xml</a>', url, payout_file.message_id)

    def get_urls(self):
        return [path("<uuid:file_id>/download/", self.admin_site.admin_view(self.download_view),
                     name="settlement_payoutfile_download"), *super().get_urls()]

    def download_view(self, request: HttpRequest, file_id: Any) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        payout_file = get_object_or_404(PayoutFile, pk=file_id)
        response = HttpResponse(bytes(payout_file.document), content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{payout_file.message_id}.xml"'
        return response


class StatusReportForm(forms.Form):
    report = forms.FileField(label="pain.002 file", help_text="The payment status report as the bank sent it (XML).")

    def clean_report(self) -> bytes:
        upload = self.cleaned_data["report"]
        if upload.size > MAX_REPORT_BYTES:
            raise forms.ValidationError(f"A status report is at most {MAX_REPORT_BYTES // (1024 * 1024)} MB.")
        return upload.read()


@admin.register(StatusReport)
class StatusReportAdmin(ObjectToolsMixin, CsvExportMixin, ReadOnlyModelAdmin):
    list_display = ["message_id", "payout_file", "group_status", "paid", "failed", "returned", "unchanged",
                    "imported_at", "imported_by"]
    list_select_related = ["payout_file"]
    search_fields = ["message_id", "payout_file__message_id"]
    date_hierarchy = "imported_at"
    exclude = ["document"]
    csv_exclude = ("document",)

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("settlement.import_statusreport")

    def list_links(self, request: HttpRequest) -> list[tuple[str, str]]:
        if not self.has_import_permission(request):
            return []
        return [("Import a status report", reverse("admin:settlement_statusreport_import"))]

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="settlement_statusreport_import"),
                *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = StatusReportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                imported = services.status_report_import(document=form.cleaned_data["report"],
                                                         actor=Actor.staff(request.user))
            except FincoreError as refused:
                form.add_error("report", refused.detail)
            else:
                report = imported.report
                if imported.duplicate:
                    self.message_user(request, f"{report.message_id} was imported before: nothing changed.",
                                      messages.WARNING)
                else:
                    self.message_user(request, f"{report.message_id}: {report.paid} paid, {report.failed} failed, "
                                      f"{report.returned} returned, {report.unchanged} unchanged.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:settlement_statusreport_change", args=[report.pk]))
        page = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                "title": "Import a payment status report (pain.002)", "media": self.media}
        return TemplateResponse(request, "admin/settlement/statusreport/import.html", page)
