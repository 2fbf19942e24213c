"""The ledger in the admin: read-only, as nothing in it is ever edited by hand."""

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.audit.admin_export import CsvExportMixin
from apps.core import ids
from apps.core.admin_filters import DateRangeFilter
from apps.core.admin_merchants import MerchantAdminMixin
from apps.core.admin_money import MoneyAdminMixin, money_html
from apps.core.admin_readonly import CappedCountPaginator, PublicIdSearchMixin, ReadOnlyModelAdmin
from apps.ledger import selectors
from apps.ledger.models import Account, Entry, Transfer, Verification

STATEMENT_LINES = 50


_BALANCES = {"debits_pending": "currency", "debits_posted": "currency", "credits_pending": "currency",
             "credits_posted": "currency"}


@admin.register(Account)
class AccountAdmin(CsvExportMixin, MerchantAdminMixin, MoneyAdminMixin, PublicIdSearchMixin, ReadOnlyModelAdmin):
    """Accounts with their balances. Search: ``acc_...``, the account's reference or name, ``mer_...``
    or the merchant's legal name."""

    public_id_prefix = "acc"
    money_fields = _BALANCES
    # The money first after who owns it; the name, the pending side and the closed flag are on the page.
    list_display = ("public_id", "reference", "merchant_name", "code", "posted_money", "available_money", "frozen")
    list_filter = ("livemode", "currency", "code", "owner_type", "frozen", "closed")
    search_fields = ("reference", "name")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("public_id", "code", "name", "currency", "livemode", "owner_type", "merchant_name",
                           "reference", "metadata", "created_at")}),
        ("Rules", {"fields": ("debits_must_not_exceed_credits", "credits_must_not_exceed_debits", "frozen",
                              "freeze_request", "closed")}),
        ("Balances", {"fields": ("posted_money", "available_money", "debits_pending_money", "debits_posted_money",
                                 "credits_pending_money", "credits_posted_money", "last_posted_at")}),
        ("Statement", {"fields": ("statement",)}),
    )

    @admin.display(description="Freeze (four eyes)")
    def freeze_request(self, account: Account) -> str:
        # A maker-checker request in compliance's admin; the ledger cannot import compliance.
        action = "ledger.account_unfreeze" if account.frozen else "ledger.account_freeze"
        url = reverse("admin:compliance_approvalrequest_new", args=[action]) + f"?account_id={account.pk}"
        return format_html("<a class='button' href='{}'>{}</a>", url,
                           "Request unfreezing" if account.frozen else "Request freezing")

    @admin.display(description="Posted (credits - debits)")
    def posted_money(self, account: Account) -> str:
        return money_html(account.credits_posted - account.debits_posted, account.currency)

    @admin.display(description="Available")
    def available_money(self, account: Account) -> str:
        return money_html(account.credits_posted - account.debits_posted - account.debits_pending, account.currency)

    @admin.display(description=f"Last {STATEMENT_LINES} entries")
    def statement(self, account: Account) -> str:
        entries = list(selectors.account_statement(account=account).order_by("-posted_at", "-id")[:STATEMENT_LINES])
        if not entries:
            return "No entries yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td><a href='{}'>{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    f"{timezone.localtime(entry.posted_at):%Y-%m-%d %H:%M:%S}",
                    reverse("admin:ledger_transfer_change", args=[entry.transfer_id]),
                    entry.transfer.get_kind_display(),
                    entry.get_side_display(),
                    money_html(entry.pending_change, account.currency),
                    money_html(entry.posted_change, account.currency),
                    money_html(entry.credits_posted - entry.debits_posted, account.currency),
                    entry.transfer.reference,
                )
                for entry in entries
            ),
        )
        history = reverse("admin:ledger_entry_changelist") + f"?q={ids.encode('acc', account.pk)}"
        return format_html(
            "<table><tr><th>Posted at</th><th>Transfer</th><th>Side</th><th>Pending change</th>"
            "<th>Posted change</th><th>Posted balance after</th><th>Reference</th></tr>{}</table>"
            "<p><a href='{}'>Full history</a></p>",
            rows,
            history,
        )


@admin.register(Transfer)
class TransferAdmin(CsvExportMixin, MerchantAdminMixin, MoneyAdminMixin, PublicIdSearchMixin, ReadOnlyModelAdmin):
    """Transfers, newest first. Search: ``tr_...``, an ``acc_...`` of either side, ``mer_...`` or the
    merchant's legal name, the client id, the reference."""

    public_id_prefix = "tr"
    related_public_ids = (("acc", ("debit_account_id", "credit_account_id")),)
    money_fields = {"amount": "currency"}
    list_display = ("public_id", "created_at", "kind", "amount_money", "debit_account", "credit_account",
                    "merchant_name", "reference")
    # Filters with fixed choices only: one on currency or code would list its values with a
    # SELECT DISTINCT over every transfer on each page view.
    list_filter = (DateRangeFilter.on("created_at", "date created"), "livemode", "kind")
    search_fields = ("=client_id", "reference")
    date_hierarchy = "created_at"
    list_select_related = ("debit_account", "credit_account")
    paginator = CappedCountPaginator
    show_full_result_count = False
    readonly_fields = ("public_id", "status", "resolution", "reversal")

    def get_fields(self, request: HttpRequest, obj: Transfer | None = None) -> list[str]:
        shown = {"id": [], "merchant_id": ["merchant_name"], "amount": ["amount_money"]}
        return ["public_id", "status", *[name for f in Transfer._meta.fields for name in shown.get(f.name, [f.name])],
                "resolution", "reversal"]

    def get_readonly_fields(self, request: HttpRequest, obj: Transfer | None = None) -> list[str]:
        return self.get_fields(request, obj)

    @admin.display(description="Status")
    def status(self, transfer: Transfer) -> str:
        resolution = selectors.resolutions_of([transfer.pk]).get(transfer.pk)
        return selectors.transfer_status(transfer, resolution.kind if resolution else None)

    def _link(self, transfer: Transfer | None) -> str:
        if transfer is None:
            return "-"
        return format_html("<a href='{}'>{}</a>", reverse("admin:ledger_transfer_change", args=[transfer.pk]),
                           ids.encode("tr", transfer.pk))

    @admin.display(description="Posted, voided or expired by")
    def resolution(self, transfer: Transfer) -> str:
        return self._link(selectors.resolutions_of([transfer.pk]).get(transfer.pk))

    @admin.display(description="Reversed by")
    def reversal(self, transfer: Transfer) -> str:
        return self._link(selectors.reversals_of([transfer.pk]).get(transfer.pk))


@admin.register(Entry)
class EntryAdmin(CsvExportMixin, MoneyAdminMixin, PublicIdSearchMixin, ReadOnlyModelAdmin):
    """Every account's history, newest first. Search: an ``acc_...`` or a ``tr_...``."""

    related_public_ids = (("acc", "account_id"), ("tr", "transfer_id"))
    money_fields = {"pending_change": "account__currency", "posted_change": "account__currency",
                    **{balance: "account__currency" for balance in _BALANCES}}
    list_display = ("id", "posted_at", "account", "side", "pending_change_money", "posted_change_money",
                    "debits_posted_money", "credits_posted_money", "transfer")
    list_select_related = ("account", "transfer")
    search_fields = ("=account__id", "=transfer__id")
    fields = ("id", "posted_at", "account", "transfer", "side", "pending_change_money", "posted_change_money",
              "debits_pending_money", "debits_posted_money", "credits_pending_money", "credits_posted_money")
    # Newest first by the primary key: its index serves the page. Ordering by posted_at too would
    # sort the whole table (entry_account_history starts with the account).
    ordering = ("-id",)
    paginator = CappedCountPaginator
    show_full_result_count = False


@admin.register(Verification)
class VerificationAdmin(CsvExportMixin, ReadOnlyModelAdmin):
    list_display = ("started_at", "ok", "accounts", "transfers", "problem")
    list_filter = ("ok",)
