"""Payments in the admin: read-only money rows (every change is a service call, journaled), with
each payment's attempts and routing decisions, captures and refunds; and the attempts whose
outcome connectors have not told for days, for a person to chase."""

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.core import ids
from apps.core.actors import Actor
from apps.core.admin import reasoned_action
from apps.core.admin_readonly import CappedCountPaginator, PublicIdSearchMixin, ReadOnlyAdminMixin, ReadOnlyModelAdmin
from apps.payments import services
from apps.payments.models import AttemptNeedingReview, Capture, Payment, PaymentAttempt, Refund


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


class CaptureInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Capture
    fields = ("kind", "amount", "status", "connector", "error_code", "attempts", "next_attempt_at", "created_by",
              "created_at", "resolved_at")
    readonly_fields = fields
    extra = 0


class RefundInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Refund
    fields = ("amount", "status", "reason", "failure_code", "attempts", "next_attempt_at", "created_by",
              "created_at", "resolved_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(Payment)
class PaymentAdmin(PublicIdSearchMixin, ReadOnlyModelAdmin):
    public_id_prefix = "pay"
    list_display = ("public_id", "created_at", "status", "amount", "currency", "method", "capture_method",
                    "connector", "amount_captured", "amount_refunded", "livemode", "reference")
    list_filter = ("status", "method", "capture_method", "livemode")
    search_fields = ("=reference", "=merchant_id")
    ordering = ("-id",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    inlines = (AttemptInline, CaptureInline, RefundInline)
    fieldsets = (
        (None, {"fields": ("public_id", "status", "merchant_id", "livemode", "reference", "created_at",
                           "updated_at")}),
        ("Money", {"fields": ("amount", "currency", "amount_authorized", "amount_captured",
                              "amount_refund_reserved", "amount_refunded")}),
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


class _AttemptAdminBase(PublicIdSearchMixin, ReadOnlyModelAdmin):
    public_id_prefix = "att"
    list_display = ("public_id", "payment_link", "sequence", "connector", "status", "error_code", "inquiries",
                    "next_inquiry_at", "needs_review", "created_at")
    list_filter = ("status", "needs_review", "connector")
    search_fields = ("=idempotency_key", "=connector_reference")
    list_select_related = ("payment",)
    ordering = ("-id",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    readonly_fields = ("public_id", "payment_link", "routing_decision", "routing_json")
    fields = ("public_id", "payment_link", "sequence", "connector", "status", "error_code", "message", "retryable",
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
        return format_html("<a href='{}'>{}</a>", reverse("admin:payments_payment_change", args=[attempt.payment_id]),
                           ids.encode("pay", attempt.payment_id))

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
class RefundAdmin(PublicIdSearchMixin, ReadOnlyModelAdmin):
    public_id_prefix = "re"
    list_display = ("public_id", "created_at", "status", "amount", "currency", "connector", "failure_code",
                    "attempts", "livemode")
    list_filter = ("status", "livemode")
    search_fields = ("=merchant_id", "=idempotency_key")
    ordering = ("-id",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    readonly_fields = ("public_id",)


@admin.register(Capture)
class CaptureAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "created_at", "kind", "status", "amount", "connector", "error_code", "attempts",
                    "next_attempt_at")
    list_filter = ("kind", "status")
    search_fields = ("=idempotency_key",)
    ordering = ("-id",)
    paginator = CappedCountPaginator
    show_full_result_count = False
