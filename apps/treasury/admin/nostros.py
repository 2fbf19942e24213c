from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from apps.audit.admin_export import CsvExportMixin
from apps.core.actors import Actor
from apps.core.admin import AuditedAdminMixin
from apps.core.exceptions import FincoreError
from apps.treasury.models import NostroAccount
from apps.treasury.services import positions as positions_services

THRESHOLD = "low_liquidity_threshold"


@admin.register(NostroAccount)
class NostroAccountAdmin(CsvExportMixin, AuditedAdminMixin, admin.ModelAdmin):
    """Fincore's bank accounts. Staff see them; adding one or changing its details is a superuser's
    act for now, with a reason (django-auditlog records it with the change), until treasury's
    maker-checker changes exist. A treasury operator sets its low-liquidity threshold, with a reason
    (journaled). Never deleted: payouts, files and statements name it."""

    list_display = ["code", "currency", "bank_name", "bic", "iban", "account_name", "pays_out", THRESHOLD]
    list_filter = ["currency", "pays_out"]
    search_fields = ["code", "bank_name", "iban", "bic"]

    def get_readonly_fields(self, request: HttpRequest, obj: NostroAccount | None = None) -> Any:
        if obj is None or request.user.is_superuser:
            return ()
        return [field.name for field in NostroAccount._meta.fields if field.name not in ("id", THRESHOLD)]

    def save_model(self, request: HttpRequest, obj: NostroAccount, form: forms.Form, change: bool) -> None:
        threshold_changed = change and THRESHOLD in form.changed_data
        threshold = obj.low_liquidity_threshold
        if threshold_changed:  # journaled by its own service; the rest is saved as the admin saves
            obj.low_liquidity_threshold = form.initial.get(THRESHOLD)
        if not change or set(form.changed_data) - {THRESHOLD}:
            super().save_model(request, obj, form, change)
        if threshold_changed:
            try:
                positions_services.nostro_threshold_set(code=obj.code, threshold=threshold,
                                                        actor=Actor.staff(request.user),
                                                        reason=self.change_reason_of(form))
            except FincoreError as refused:
                self.message_user(request, refused.detail, messages.ERROR)
            obj.refresh_from_db()
