"""Payments in the admin: read-only money rows (every change is a service call, journaled), with
each payment's attempts and routing decisions, captures and refunds; the attempts whose outcome
connectors have not told for days, for a person to chase; and payouts, whose release a treasury
operator requests when one needs a checker's approval. Payments and payouts compliance holds are
found by their status (``requires_review``) and by the payouts' compliance filter; the holds on
merchants' payouts are listed (placed and lifted through maker-checker requests)."""

import json
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.audit.admin_export import CsvExportMixin
from apps.compliance import services as compliance_services
from apps.core import ids
from apps.core.actors import Actor
from apps.core.admin import reasoned_action
from apps.core.admin_filters import DateRangeFilter
from apps.core.admin_merchants import MerchantAdminMixin
from apps.core.admin_money import MoneyAdminMixin
from apps.core.admin_readonly import CappedCountPaginator, PublicIdSearchMixin, ReadOnlyAdminMixin, ReadOnlyModelAdmin
from apps.payments import services
from apps.payments.models import (
    AttemptNeedingReview,
    Capture,
    MerchantPayoutHold,
    Payment,
    PaymentAttempt,
    Payout,
    Refund,
)


def _routing_summary(attempt: PaymentAttempt) -> str:
    routing = attempt.routing or {}
    scores = ", ".join(f"{name} {score:.2f}" for name, score in (routing.get("scores") or {}).items())
    excluded = "; ".join(f"{name}: {why}" for name, why in (routing.get("excluded") or {}).items())
    return format_html(
        "<b>{}</b> ({} / rule {}{})<br>candidates: {}<br>scores: {}<br>excluded: {}",
        routing.get("reason", "-"), routing.get("strategy", "-"), routing.get("rule", "-"),
        ", explored" if routing.get("explored") else "", " → ".join(routing.get("candidates", [])) or "-",
        scores or "-", excluded or "-",
    )


class AttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PaymentAttempt
    fields = ("sequence", "connector", "status", "error_code", "message", "retryable", "routing_decision",
              "inquiries", "next_inquiry_at", "needs_review", "created_at", "resolved_at")
    readonly_fields = fields
    ordering = ("sequence",)
    extra = 0
    show_change_link = True

    @admin.display(description="Routing decision")
    def routing_decision(self, attempt: PaymentAttempt) -> str:
        return _routing_summary(attempt)


class CaptureInline(MoneyAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = Capture
    money_fields = {"amount": "payment__currency"}
    fields = ("kind", "amount_money", "status", "connector", "error_code", "attempts", "next_attempt_at", "created_by",
              "created_at", "resolved_at")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("payment")


class RefundInline(MoneyAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = Refund
    money_fields = {"amount": "currency"}
    fields = ("amount_money", "status", "reason", "failure_code", "attempts", "next_attempt_at", "created_by",
              "created_at", "resolved_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True


def _payment_link(payment_id: Any) -> str:
    return format_html("<a href='{}'>{}</a>", reverse("admin:payments_payment_change", args=[payment_id]),
                       ids.encode("pay", payment_id))


@admin.register(Payment)
class PaymentAdmin(CsvExportMixin, MerchantAdminMixin, MoneyAdminMixin, PublicIdSearchMixin, ReadOnlyModelAdmin):
    """Payments, newest first. Search: ``pay_...``, ``mer_...``, the merchant's legal name, the
    merchant's reference, the connector, the API request's Idempotency-Key."""

    public_id_prefix = "pay"
    money_fields = {"amount": "currency", "amount_authorized": "currency", "amount_captured": "currency",
                    "amount_refund_reserved": "currency", "amount_refunded": "currency"}
    list_display = ("public_id", "created_at", "merchant_name", "status", "amount_money", "method", "connector",
                    "reference")
    list_filter = (DateRangeFilter.on("created_at", "date created"), "status", "method", "capture_method", "livemode")
    search_fields = ("=reference", "=connector", "=request_idempotency_key")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    inlines = (AttemptInline, CaptureInline, RefundInline)
    fieldsets = (
        (None, {"fields": ("public_id", "status", "merchant_name", "livemode", "reference", "request_idempotency_key",
                           "created_at", "updated_at")}),
        ("Money", {"fields": ("amount_money", "amount_authorized_money", "amount_captured_money",
                              "amount_refund_reserved_money", "amount_refunded_money", "captured_at")}),
        ("How", {"fields": ("method", "payment_method", "capture_method", "country", "connector", "priority",
                            "wallet_hold_id")}),
        ("Outcome", {"fields": ("failure_code", "failure_message", "metadata")}),
    )
    readonly_fields = ("public_id",)


def _inquire(request: HttpRequest, attempt: PaymentAttempt, reason: str) -> None:
    services.payment_attempt_inquire_now(attempt_id=attempt.pk, actor=Actor.staff(request.user), reason=reason)


def _resolve_declined(request: HttpRequest, attempt: PaymentAttempt, reason: str) -> None:
    services.payment_attempt_resolve_declined(attempt_id=attempt.pk, actor=Actor.staff(request.user), reason=reason)


def _review_close(request: HttpRequest, attempt: PaymentAttempt, reason: str) -> None:
    services.payment_attempt_review_close(attempt_id=attempt.pk, actor=Actor.staff(request.user), reason=reason)


class _AttemptAdminBase(CsvExportMixin, MerchantAdminMixin, PublicIdSearchMixin, ReadOnlyModelAdmin):
    public_id_prefix = "att"
    related_public_ids = (("pay", "payment_id"),)
    merchant_lookup = "payment__merchant_id"
    list_display = ("public_id", "payment_link", "merchant_name", "sequence", "connector", "status", "error_code",
                    "inquiries", "next_inquiry_at", "needs_review", "created_at")
    list_filter = ("status", "needs_review", "connector")
    search_fields = ("=idempotency_key", "=connector_reference", "=connector")
    list_select_related = ("payment",)
    ordering = ("-id",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    readonly_fields = ("public_id", "payment_link", "routing_decision", "routing_json")
    fields = ("public_id", "payment_link", "merchant_name", "sequence", "connector", "status", "error_code", "message",
              "retryable",
              "connector_reference", "idempotency_key", "routing_decision", "routing_json", "inquiries",
              "next_inquiry_at", "needs_review", "created_at", "updated_at", "resolved_at")
    actions = [
        reasoned_action(description="Ask the connector now", perform=_inquire, permissions=("inquire",)),
        reasoned_action(description="Close as not taken (the connector confirms nothing happened)",
                        perform=_resolve_declined, permissions=("inquire",)),
        reasoned_action(description="Close the review (the money is back with the customer)",
                        perform=_review_close, permissions=("inquire",)),
    ]

    def has_inquire_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.change_paymentattempt")

    @admin.display(description="Payment")
    def payment_link(self, attempt: PaymentAttempt) -> str:
        return _payment_link(attempt.payment_id)

    @admin.display(description="Routing decision")
    def routing_decision(self, attempt: PaymentAttempt) -> str:
        return _routing_summary(attempt)

    @admin.display(description="Routing decision (as stored)")
    def routing_json(self, attempt: PaymentAttempt) -> str:
        return format_html("<pre>{}</pre>", json.dumps(attempt.routing, indent=2, sort_keys=True))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return tuple(self.fields)


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(_AttemptAdminBase):
    pass


@admin.register(AttemptNeedingReview)
class AttemptNeedingReviewAdmin(_AttemptAdminBase):
    """Unknown or pending for more than three days (find out from the connector's back office);
    approved by the connector after a person had closed the payment, or taken by the connector
    and refused by the ledger (give the money back at the connector, then close the review)."""

    list_filter = ("status", "connector")

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).filter(needs_review=True)


@admin.register(Refund)
class RefundAdmin(CsvExportMixin, MerchantAdminMixin, MoneyAdminMixin, PublicIdSearchMixin, ReadOnlyModelAdmin):
    """Refunds, newest first. Search: ``re_...``, the payment's ``pay_...``, ``mer_...``, the
    merchant's legal name, the connector, its reference at the connector, the Idempotency-Keys."""

    public_id_prefix = "re"
    related_public_ids = (("pay", "payment_id"),)
    money_fields = {"amount": "currency"}
    list_display = ("public_id", "created_at", "merchant_name", "payment_link", "status", "amount_money", "connector")
    list_filter = (DateRangeFilter.on("created_at", "date created"), "status", "livemode")
    search_fields = ("=idempotency_key", "=request_idempotency_key", "=connector_reference", "=connector")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    fields = ("public_id", "payment_link", "merchant_name", "livemode", "status", "amount_money", "reason",
              "connector", "connector_reference", "failure_code", "failure_message", "attempts", "next_attempt_at",
              "idempotency_key", "request_idempotency_key", "pending_hold_id", "available_hold_id", "created_by",
              "created_at", "updated_at", "resolved_at")
    readonly_fields = ("public_id", "payment_link")

    @admin.display(description="Payment")
    def payment_link(self, refund: Refund) -> str:
        return _payment_link(refund.payment_id)


@admin.register(Capture)
class CaptureAdmin(CsvExportMixin, MerchantAdminMixin, MoneyAdminMixin, PublicIdSearchMixin, ReadOnlyModelAdmin):
    """Captures and voids. Search: the payment's ``pay_...``, ``mer_...``, the merchant's legal name,
    the connector, the idempotency key sent to the connector."""

    related_public_ids = (("pay", "payment_id"),)
    merchant_lookup = "payment__merchant_id"
    money_fields = {"amount": "payment__currency"}
    list_display = ("created_at", "payment_link", "merchant_name", "kind", "status", "amount_money", "connector",
                    "attempts")
    list_display_links = ("created_at",)
    list_filter = ("kind", "status")
    list_select_related = ("payment",)
    search_fields = ("=idempotency_key", "=connector")
    ordering = ("-id",)
    paginator = CappedCountPaginator
    show_full_result_count = False

    @admin.display(description="Payment")
    def payment_link(self, capture: Capture) -> str:
        return _payment_link(capture.payment_id)


def _request_release(request: HttpRequest, payout: Payout, reason: str) -> None:
    # A maker-checker request: a supervisor's approval runs services.payout_release.
    compliance_services.approval_request_create(
        action=services.PAYOUT_RELEASE, arguments={"payout_id": str(payout.pk)}, user=request.user, reason=reason)


class ApprovalFilter(admin.SimpleListFilter):
    title = "approval"
    parameter_name = "approval"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("waiting", "Waiting for approval"), ("approved", "Approved"), ("not_needed", "Not needed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Payout]) -> QuerySet[Payout]:
        return {
            "waiting": queryset.filter(needs_approval=True, approved_at__isnull=True),
            "approved": queryset.filter(approved_at__isnull=False),
            "not_needed": queryset.filter(needs_approval=False),
        }.get(self.value() or "", queryset)


class ComplianceHoldFilter(admin.SimpleListFilter):
    title = "compliance hold"
    parameter_name = "compliance_hold"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("review", "Held for review (an alert)"), ("merchant", "Merchant's payouts held"),
                ("none", "Not held")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Payout]) -> QuerySet[Payout]:
        return {
            "review": queryset.filter(held_for_review=True),
            "merchant": queryset.filter(merchant_payouts_held=True),
            "none": queryset.filter(held_for_review=False, merchant_payouts_held=False),
        }.get(self.value() or "", queryset)


@admin.register(Payout)
class PayoutAdmin(CsvExportMixin, MerchantAdminMixin, MoneyAdminMixin, PublicIdSearchMixin, ReadOnlyModelAdmin):
    """Payouts, newest first. Search: ``po_...``, the bank account's ``ba_...``, ``mer_...``, the
    merchant's legal name, the end-to-end id, the settlement line, the payment file's message id.
    A payout waiting for approval is released by a request (action "Request release")."""

    public_id_prefix = "po"
    related_public_ids = (("ba", "bank_account_id"),)
    money_fields = {"amount": "currency"}
    list_display = ("public_id", "created_at", "merchant_name", "status", "amount_money", "approval", "hold_until",
                    "beneficiary_name", "end_to_end_id", "file_reference")
    list_filter = (DateRangeFilter.on("created_at", "date created"), DateRangeFilter.on("paid_at", "date paid"),
                   "status", "currency", ApprovalFilter, ComplianceHoldFilter, "livemode")
    search_fields = ("=end_to_end_id", "=settlement_reference", "=file_reference")
    ordering = ("-id",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("public_id", "status", "merchant_name", "livemode", "amount_money", "settlement_reference",
                           "end_to_end_id", "created_by", "created_at", "updated_at")}),
        ("Bank account", {"fields": ("bank_account_link", "iban", "bic", "beneficiary_name", "hold_until")}),
        ("Approval", {"fields": ("needs_approval", "approved_at", "approved_by")}),
        ("Compliance", {"fields": ("held_for_review", "merchant_payouts_held")}),
        ("Sent and after", {"fields": ("nostro", "file_reference", "in_transit_at", "paid_at", "failed_at",
                                       "returned_at", "failure_code", "failure_message")}),
        ("Ledger", {"fields": ("hold_transfer_id", "sent_transfer_id", "paid_transfer_id", "back_transfer_id")}),
    )
    readonly_fields = ("public_id", "bank_account_link")
    actions = [reasoned_action(description="Request release (a checker approves)", perform=_request_release,
                               permissions=("request_release",))]

    def has_request_release_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.request_payout_release")

    @admin.display(description="Approval")
    def approval(self, payout: Payout) -> str:
        if not payout.needs_approval:
            return "-"
        return f"approved by {payout.approved_by}" if payout.approved_at else "waiting"

    @admin.display(description="Bank account")
    def bank_account_link(self, payout: Payout) -> str:
        return format_html("<a href='{}'>{}</a>", reverse("admin:merchants_bankaccount_change",
                                                          args=[payout.bank_account_id]),
                           ids.encode("ba", payout.bank_account_id))


@admin.register(MerchantPayoutHold)
class MerchantPayoutHoldAdmin(MerchantAdminMixin, ReadOnlyModelAdmin):
    """Holds on merchants' payouts, newest first: placed and lifted by maker-checker requests
    (``payments.merchant_payouts_hold`` / ``payments.merchant_payouts_unhold``), usually from a case."""

    list_display = ("merchant_name", "placed_at", "placed_by", "lifted_at", "lifted_by")
    list_filter = (DateRangeFilter.on("placed_at", "date placed"),)
    fields = ("merchant_name", "reason", "placed_at", "placed_by", "lifted_at", "lifted_by", "lift_reason")
    ordering = ("-placed_at",)
