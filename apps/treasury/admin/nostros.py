from django.contrib import admin

from apps.audit.admin_export import CsvExportMixin
from apps.core.admin import AuditedAdminMixin
from apps.treasury.models import NostroAccount


@admin.register(NostroAccount)
class NostroAccountAdmin(CsvExportMixin, AuditedAdminMixin, admin.ModelAdmin):
    """Fincore's bank accounts. Staff see them; adding or changing one is a superuser's act for now,
    with a reason (django-auditlog records it with the change), until treasury's maker-checker
    changes exist. Never deleted: payouts, files and statements name it."""

    list_display = ["code", "currency", "bank_name", "bic", "iban", "account_name", "pays_out"]
    list_filter = ["currency", "pays_out"]
    search_fields = ["code", "bank_name", "iban", "bic"]
