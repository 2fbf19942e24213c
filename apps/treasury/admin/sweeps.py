"""Sweeps between nostros in the admin: read only, their pain.001 downloaded as it was sent, and
a page of its own where a treasury operator requests one (the maker-checker request behind it)."""

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
from apps.core import clock
from apps.core.admin_money import MoneyAdminMixin, minor_units
from apps.core.admin_readonly import ReadOnlyModelAdmin
from apps.core.exceptions import FincoreError
from apps.treasury.models import Sweep
from apps.treasury.selectors import nostros as nostro_selectors
from apps.treasury.services import sweeps


class SweepRequestForm(forms.Form):
    from_nostro = forms.ChoiceField(label="From (pays)", help_text="The nostro the money leaves.")
    to_nostro = forms.ChoiceField(label="To (receives)", help_text="The nostro it arrives at, of the same currency.")
    amount = forms.CharField(max_length=40, widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 16}),
                             help_text="In the nostros' currency, major units: 1250.500 for 1,250.500 BHD.")
    execution_date = forms.DateField(help_text="The day the paying bank sends it (YYYY-MM-DD).")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text="Why: the checker and the journal read it.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(code, code) for code in nostro_selectors.nostro_codes()]
        self.fields["from_nostro"].choices = choices
        self.fields["to_nostro"].choices = choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        paying = nostro_selectors.nostro(code=cleaned.get("from_nostro", ""))
        if paying is not None and cleaned.get("amount"):
            try:
                cleaned["amount_minor"] = minor_units(cleaned["amount"], paying.currency)
            except forms.ValidationError as invalid:
                self.add_error("amount", invalid)
        return cleaned


@admin.register(Sweep)
class SweepAdmin(MoneyAdminMixin, CsvExportMixin, ReadOnlyModelAdmin):
    money_fields = {"amount": "currency"}
    # Codes, not the nostros' full names, so the list fits 1366 px; the rest is on the sweep's page.
    list_display = ["public_id", "status", "from_code", "to_code", "amount_money", "execution_date", "sent_at",
                    "download"]
    list_filter = ["status", "currency"]
    search_fields = ["end_to_end_id", "from_nostro__code", "to_nostro__code", "requested_by"]
    date_hierarchy = "created_at"
    exclude = ["file"]
    csv_exclude = ("file",)
    readonly_fields = ["public_id", "download", "amount_money"]
    fields = ["public_id", "status", "currency", "from_nostro", "to_nostro", "amount_money", "execution_date",
              "end_to_end_id", "requested_by", "reason", "approval_request", "outcome", "download", "file_sha256",
              "transfer_id", "created_at", "sent_at"]

    @admin.display(description="Sweep", ordering="created_at")
    def public_id(self, sweep: Sweep) -> str:
        return sweeps.sweep_public_id(sweep.pk)

    @admin.display(description="From", ordering="from_nostro")
    def from_code(self, sweep: Sweep) -> str:
        return sweep.from_nostro_id

    @admin.display(description="To", ordering="to_nostro")
    def to_code(self, sweep: Sweep) -> str:
        return sweep.to_nostro_id

    @admin.display(description="pain.001")
    def download(self, sweep: Sweep) -> str:
        if not sweep.file_sha256:
            return "-"
        url = reverse("admin:treasury_sweep_download", args=[sweep.pk])
        return format_html('<a href="{}" download>XML</a>', url)

    def has_request_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("treasury.request_sweep")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        links = [("Request a sweep", reverse("admin:treasury_sweep_request"))] \
            if self.has_request_permission(request) else []
        return super().changelist_view(request, {**(extra_context or {}), "object_tools_links": links})

    def get_urls(self) -> list:
        return [path("request/", self.admin_site.admin_view(self.request_view), name="treasury_sweep_request"),
                path("<uuid:sweep_id>/download/", self.admin_site.admin_view(self.download_view),
                     name="treasury_sweep_download"),
                *super().get_urls()]

    def download_view(self, request: HttpRequest, sweep_id: Any) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        sweep = get_object_or_404(Sweep, pk=sweep_id, file__isnull=False)
        response = HttpResponse(bytes(sweep.file), content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{sweeps.sweep_public_id(sweep.pk)}.xml"'
        return response

    def request_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_request_permission(request):
            raise PermissionDenied
        form = SweepRequestForm(request.POST or None, initial={"execution_date": clock.now().date()})
        if request.method == "POST" and form.is_valid():
            try:
                sweep = sweeps.sweep_request(
                    user=request.user, from_nostro=form.cleaned_data["from_nostro"],
                    to_nostro=form.cleaned_data["to_nostro"], amount=form.cleaned_data["amount_minor"],
                    execution_date=form.cleaned_data["execution_date"], reason=form.cleaned_data["reason"])
            except FincoreError as refused:
                form.add_error(None, refused.detail)
            else:
                if sweep.status == Sweep.Status.SENT:
                    self.message_user(request, f"Sent at once (under the approval threshold): "
                                               f"{sweeps.sweep_public_id(sweep.pk)}.", messages.SUCCESS)
                else:
                    self.message_user(request, f"Requested {sweeps.sweep_public_id(sweep.pk)}: it waits for a "
                                               f"checker's approval.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:treasury_sweep_change", args=[sweep.pk]))
        page = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                "title": "Request a sweep between nostros", "media": self.media}
        return TemplateResponse(request, "admin/treasury/sweep/request.html", page)


