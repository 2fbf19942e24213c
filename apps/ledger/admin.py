"""The ledger in the admin: read-only, as nothing in it is ever edited by hand."""

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.core import ids
from apps.core.admin_readonly import CappedCountPaginator, PublicIdSearchMixin, ReadOnlyModelAdmin
from apps.ledger import selectors
from apps.ledger.models import Account, Entry, Transfer, Verification

STATEMENT_LINES = 50


@admin.register(Account)
class AccountAdmin(PublicIdSearchMixin, ReadOnlyModelAdmin):
    public_id_prefix = "acc"
    list_display = ("public_id", "code", "currency", "livemode", "reference", "name", "owner_type", "posted",
                    "available", "debits_pending", "credits_pending", "frozen", "closed")
    list_filter = ("livemode", "currency", "code", "owner_type", "frozen", "closed")
    search_fields = ("reference", "name", "=merchant_id")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("public_id", "code", "name", "currency", "livemode", "owner_type", "merchant_id",
                           "reference", "metadata", "created_at")}),
        ("Rules", {"fields": ("debits_must_not_exceed_credits", "credits_must_not_exceed_debits", "frozen",
                              "freeze_request", "closed")}),
        ("Balances", {"fields": ("posted", "available", "debits_pending", "debits_posted", "credits_pending",
                                 "credits_posted", "last_posted_at")}),
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
    def posted(self, account: Account) -> int:
        return account.credits_posted - account.debits_posted

    @admin.display(description="Available")
    def available(self, account: Account) -> int:
        return account.credits_posted - account.debits_posted - account.debits_pending

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
                    entry.pending_change,
                    entry.posted_change,
                    entry.credits_posted - entry.debits_posted,
                    entry.transfer.reference,
                )
                for entry in entries
            ),
        )
        history = reverse("admin:ledger_entry_changelist") + f"?q={account.pk}"
        return format_html(
            "<table><tr><th>Posted at</th><th>Transfer</th><th>Side</th><th>Pending change</th>"
            "<th>Posted change</th><th>Posted balance after</th><th>Reference</th></tr>{}</table>"
            "<p><a href='{}'>Full history</a></p>",
            rows,
            history,
        )


@admin.register(Transfer)
class TransferAdmin(PublicIdSearchMixin, ReadOnlyModelAdmin):
    public_id_prefix = "tr"
    list_display = ("public_id", "created_at", "kind", "amount", "currency", "livemode", "debit_account",
                    "credit_account", "reference", "created_by")
    # Filters with fixed choices only: one on currency or code would list its values with a
    # SELECT DISTINCT over every transfer on each page view.
    list_filter = ("livemode", "kind")
    search_fields = ("=client_id", "reference", "=merchant_id")
    list_select_related = ("debit_account", "credit_account")
    paginator = CappedCountPaginator
    show_full_result_count = False
    readonly_fields = ("public_id", "status", "resolution", "reversal")

    def get_fields(self, request: HttpRequest, obj: Transfer | None = None) -> list[str]:
        return ["public_id", "status", *[f.name for f in Transfer._meta.fields if f.name != "id"], "resolution",
                "reversal"]

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
class EntryAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "posted_at", "account", "side", "pending_change", "posted_change", "debits_pending",
                    "debits_posted", "credits_pending", "credits_posted", "transfer")
    list_select_related = ("account", "transfer")
    search_fields = ("=account__id", "=transfer__id")
    # Newest first by the primary key: its index serves the page. Ordering by posted_at too would
    # sort the whole table (entry_account_history starts with the account).
    ordering = ("-id",)
    paginator = CappedCountPaginator
    show_full_result_count = False


@admin.register(Verification)
class VerificationAdmin(ReadOnlyModelAdmin):
    list_display = ("started_at", "ok", "accounts", "transfers", "problem")
    list_filter = ("ok",)
