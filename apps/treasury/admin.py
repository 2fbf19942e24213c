from django.contrib import admin
from django.http import HttpRequest

from apps.audit.admin_export import CsvExportMixin
from apps.treasury.models import NostroAccount


@admin.register(NostroAccount)
class NostroAccountAdmin(CsvExportMixin, admin.ModelAdmin):
    """Fincore's bank accounts. Staff see them; adding or changing one is a superuser's act for now
    (django-auditlog records it), until treasury's maker-checker changes exist."""

    list_display = ["code", "currency", "bank_name", "bic", "iban", "account_name", "pays_out"]
    list_filter = ["currency", "pays_out"]
    search_fields = ["code", "bank_name", "iban", "bic"]

    def has_delete_permission(self, request: HttpRequest, obj: NostroAccount | None = None) -> bool:
        return False  # payouts, files and statements name it: it is never deleted
