"""Maker-checker in the admin: the requests (with "My approvals": what waits for me), the approve
(with a fresh TOTP code) and reject (with a reason) forms, the request forms other screens link
to, the manual ledger adjustment, and the approval policies (changed through a request too)."""

import uuid
from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from apps.audit.admin_export import CsvExportMixin
from apps.compliance import registry, selectors, services
from apps.compliance.admin_requests import approval_request_from_form
from apps.compliance.data import ADJUSTMENT, POLICY_CHANGE
from apps.compliance.models import ApprovalPolicy, ApprovalRequest
from apps.core import ids
from apps.core.admin_readonly import PublicIdSearchMixin, ReadOnlyModelAdmin
from apps.core.exceptions import FincoreError
from apps.core.money import Money, MoneyError
from apps.ledger import data as ledger_data
from apps.ledger import selectors as ledger_selectors

FORM_TEMPLATE = "admin/compliance/approval_form.html"


def money(amount: int | None, currency: str) -> str:
    return Money(amount, currency).format() if amount is not None and currency else "-"


# Arguments that are ids, shown as the public ids staff search by (``acc_…``), not as UUIDs.
PUBLIC_ID_ARGUMENTS = {"account_id": "acc", "debit_account_id": "acc", "credit_account_id": "acc",
                       "merchant_id": "mer", "api_key_id": "key"}


def _public_id(prefix: str, value: Any) -> str:
    try:
        return ids.encode(prefix, uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def readable_arguments(arguments: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The service call's arguments as staff read them: money as ``12.500 BHD``, ids as ``acc_…``."""
    currency = arguments.get("currency")
    rows = []
    for name, value in arguments.items():
        if name in ("amount", "threshold") and isinstance(value, int) and currency:
            value = money(value, currency)
        elif name in PUBLIC_ID_ARGUMENTS and value:
            value = _public_id(PUBLIC_ID_ARGUMENTS[name], value)
        rows.append((name.replace("_", " ").capitalize(), "-" if value in (None, "") else str(value)))
    return rows


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text="Shown to the checker and kept in the journal with your name.")


class ApproveForm(forms.Form):
    otp_token = forms.CharField(
        label="Code from your authenticator", max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
        help_text="A fresh six-digit code: approving executes the action in your name and the maker's.",
    )


class ActionFilter(admin.SimpleListFilter):
    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # The registry, not a SELECT DISTINCT over every request.
        return [(action.name, action.label) for action in registry.actions()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(action=self.value()) if self.value() else queryset


class AwaitingMeFilter(admin.SimpleListFilter):
    title = "my approvals"
    parameter_name = "awaiting"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("me", "Awaiting my approval")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "me":
            return queryset.filter(pk__in=selectors.approval_requests_awaiting(request.user).values("pk"))
        return queryset


def _account_id(text: str) -> uuid.UUID | None:
    text = text.strip()
    try:
        return ids.decode("acc", text) or uuid.UUID(text)
    except ValueError:
        return None


class AdjustmentForm(forms.Form):
    debit_account = forms.CharField(help_text="acc_… id of the account the money leaves.")
    credit_account = forms.CharField(help_text="acc_… id of the account the money goes to.")
    amount = forms.CharField(help_text="In major units, e.g. 12.500 for BHD: the accounts' currency decides.")
    reason_code = forms.ChoiceField(
        choices=[(reason.value, label) for reason, label in ledger_data.ADJUSTMENT_REASON_LABELS.items()],
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                           help_text="What the adjustment corrects: kept on the transfer and in the journal.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        accounts = {}
        for field in ("debit_account", "credit_account"):
            account_id = _account_id(cleaned[field])
            account = ledger_selectors.account_get(account_id=account_id) if account_id else None
            if account is None:
                self.add_error(field, "No such account.")
            accounts[field] = account
        if self.errors:
            return cleaned
        currency = accounts["debit_account"].currency
        try:
            amount = Money.from_major(cleaned["amount"].strip(), currency)
        except MoneyError as invalid:
            self.add_error("amount", f"Not an amount in {currency}: {invalid}")
            return cleaned
        cleaned["arguments"] = {
            "debit_account_id": str(accounts["debit_account"].pk),
            "credit_account_id": str(accounts["credit_account"].pk),
            "amount": amount.amount, "currency": currency, "reason_code": cleaned["reason_code"],
            "note": cleaned["note"],
        }
        return cleaned


class PolicyChangeForm(forms.Form):
    action = forms.ChoiceField()
    currency = forms.CharField(max_length=3, required=False, help_text="ISO 4217 code; empty: any currency.")
    requires_approval = forms.BooleanField(required=False, initial=True, label="Needs a checker")
    threshold = forms.CharField(
        required=False, help_text="Major units in that currency: amounts up to this are executed at once.",
    )
    approvals_required = forms.IntegerField(min_value=1, initial=1, label="Checkers needed")
    expires_after_hours = forms.IntegerField(min_value=1, initial=72, label="Expires after (hours)")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [(a.name, a.label) for a in registry.actions() if not a.always_checked]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        currency = cleaned["currency"].strip().upper()
        threshold = None
        if cleaned["threshold"].strip():
            try:
                threshold = Money.from_major(cleaned["threshold"].strip(), currency).amount
            except (MoneyError, ValueError) as invalid:
                self.add_error("threshold", f"Not an amount in {currency or 'a currency'}: {invalid}")
                return cleaned
        cleaned["arguments"] = {
            "action": cleaned["action"], "currency": currency, "requires_approval": cleaned["requires_approval"],
            "threshold": threshold, "approvals_required": cleaned["approvals_required"],
            "expires_after_hours": cleaned["expires_after_hours"],
        }
        return cleaned


class EditAdjustmentForm(AdjustmentForm):
    edit_reason = forms.CharField(label="Why it changes", widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))

    @staticmethod
    def initial_from(arguments: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "debit_account": ids.encode("acc", uuid.UUID(arguments["debit_account_id"])),
            "credit_account": ids.encode("acc", uuid.UUID(arguments["credit_account_id"])),
            "amount": Money(arguments["amount"], arguments["currency"]).to_major_str(),
            "reason_code": arguments["reason_code"], "note": arguments["note"],
        }


class EditPolicyChangeForm(PolicyChangeForm):
    edit_reason = forms.CharField(label="Why it changes", widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["reason"]

    @staticmethod
    def initial_from(arguments: Mapping[str, Any]) -> dict[str, Any]:
        threshold = arguments["threshold"]
        return {**arguments, "threshold": Money(threshold, arguments["currency"]).to_major_str()
                if threshold is not None else ""}


EDITABLE: dict[str, type[EditAdjustmentForm] | type[EditPolicyChangeForm]] = {
    ADJUSTMENT: EditAdjustmentForm, POLICY_CHANGE: EditPolicyChangeForm,
}


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(CsvExportMixin, PublicIdSearchMixin, ReadOnlyModelAdmin):
    money_fields = {"amount": "currency"}
    public_id_prefix = "apr"
    # Fits 1366 px: what is asked, of what, by whom and until when; who decided is on the request's page.
    list_display = ("created_at", "request_summary", "amount_display", "state", "maker", "expires_at")
    list_filter = (AwaitingMeFilter, "state", ActionFilter)
    list_select_related = ("maker",)
    search_fields = ("target_label", "=target_id", "maker__username")
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": ("public_id", "action_label", "target_label", "amount_display", "payload", "reason",
                           "state", "decision")}),
        ("People and times", {"fields": ("maker", "created_at", "updated_at", "version", "expires_at",
                                         "approvals_required", "approvals_given", "decided_by", "decided_at",
                                         "outcome")}),
    )

    @admin.display(description="Request", ordering="action_label")
    def request_summary(self, approval_request: ApprovalRequest) -> str:
        return format_html("{}<br><span class='request-target'>{}</span>", approval_request.action_label,
                           approval_request.target_label)

    def get_fieldsets(self, request: HttpRequest, obj: ApprovalRequest | None = None) -> Any:
        (name, options), *rest = self.fieldsets
        fields = list(options["fields"])
        if not selectors.may_approve(request.user):
            # Only a checker is offered approve and reject.
            fields.remove("decision")
        if obj is not None and obj.is_pending and obj.maker_id == request.user.pk and obj.action in EDITABLE:
            fields.append("edit_link")
        return ((name, {"fields": tuple(fields)}), *rest)

    @admin.display(description="Change it")
    def edit_link(self, approval_request: ApprovalRequest) -> str:
        return format_html("<a class='button' href='{}'>Edit (voids the approvals so far)</a>",
                           reverse("admin:compliance_approvalrequest_edit", args=[approval_request.pk]))

    @admin.display(description="Amount")
    def amount_display(self, approval_request: ApprovalRequest) -> str:
        return money(approval_request.amount, approval_request.currency)

    @admin.display(description="What will be done")
    def payload(self, approval_request: ApprovalRequest) -> str:
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", readable_arguments(approval_request.arguments)))

    @admin.display(description="Approved by")
    def approvals_given(self, approval_request: ApprovalRequest) -> str:
        approvals = selectors.approvals_of(approval_request)
        return ", ".join(f"{a.checker.get_username()} ({a.approved_at:%Y-%m-%d %H:%M} UTC)" for a in approvals) or "-"

    @admin.display(description="Decide")
    def decision(self, approval_request: ApprovalRequest) -> str:
        if not approval_request.is_pending:
            return approval_request.get_state_display()
        return format_html(
            "<a class='button' href='{}'>Approve</a> <a class='button' href='{}'>Reject</a>",
            reverse("admin:compliance_approvalrequest_approve", args=[approval_request.pk]),
            reverse("admin:compliance_approvalrequest_reject", args=[approval_request.pk]),
        )

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("my-approvals/", view(self.my_approvals_view), name="compliance_approvalrequest_mine"),
            path("adjustment/", view(self.adjustment_view), name="compliance_approvalrequest_adjustment"),
            path("new/<str:action>/", view(self.request_view), name="compliance_approvalrequest_new"),
            path("<path:object_id>/approve/", view(self.approve_view), name="compliance_approvalrequest_approve"),
            path("<path:object_id>/reject/", view(self.reject_view), name="compliance_approvalrequest_reject"),
            path("<path:object_id>/edit/", view(self.edit_view), name="compliance_approvalrequest_edit"),
            *super().get_urls(),
        ]

    def _render(self, request: HttpRequest, title: str, form: forms.Form, summary: list[tuple[str, str]],
                submit_label: str = "") -> TemplateResponse:
        return TemplateResponse(request, FORM_TEMPLATE, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": title, "form": form,
            "summary": summary, "submit_label": submit_label,
        })

    def _pending(self, request: HttpRequest, object_id: str) -> ApprovalRequest:
        if not selectors.may_approve(request.user):
            raise PermissionDenied
        approval_request = self.get_object(request, unquote(object_id))
        if approval_request is None:
            raise Http404("No such request.")
        return approval_request

    def _summary(self, approval_request: ApprovalRequest) -> list[tuple[str, str]]:
        return [
            ("Action", approval_request.action_label), ("Target", approval_request.target_label),
            ("Amount", self.amount_display(approval_request)), *readable_arguments(approval_request.arguments),
            ("Reason", approval_request.reason), ("Requested by", approval_request.maker.get_username()),
            ("Expires", f"{approval_request.expires_at:%Y-%m-%d %H:%M} UTC"),
        ]

    def _done(self, approval_request: ApprovalRequest) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:compliance_approvalrequest_change", args=[approval_request.pk]))

    def my_approvals_view(self, request: HttpRequest) -> HttpResponse:
        """The checker's queue: pending requests they may approve, not made by them."""
        return HttpResponseRedirect(reverse("admin:compliance_approvalrequest_changelist") + "?awaiting=me")

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        approval_request = self._pending(request, object_id)
        form = ApproveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                decided = services.approval_request_approve(
                    request_id=approval_request.pk, user=request.user, otp_token=form.cleaned_data["otp_token"])
            except FincoreError as refused:
                form.add_error(None, refused.detail)
            else:
                if decided.state == ApprovalRequest.State.EXECUTED:
                    messages.success(request, f"Approved and executed: {decided.outcome}")
                elif decided.state == ApprovalRequest.State.FAILED:
                    messages.error(request, f"Approved, but the action was refused: {decided.outcome}")
                else:
                    messages.success(request, "Approved: it waits for another checker.")
                return self._done(decided)
        return self._render(request, f"Approve: {approval_request}", form, self._summary(approval_request), "Approve")

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        approval_request = self._pending(request, object_id)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                decided = services.approval_request_reject(
                    request_id=approval_request.pk, user=request.user, reason=form.cleaned_data["reason"])
            except FincoreError as refused:
                form.add_error(None, refused.detail)
            else:
                messages.success(request, "Rejected.")
                return self._done(decided)
        return self._render(request, f"Reject: {approval_request}", form, self._summary(approval_request), "Reject")

    def _create(self, request: HttpRequest, action: str, arguments: dict[str, Any], reason: str,
                form: forms.Form) -> HttpResponse | None:
        created = approval_request_from_form(request, form, action=action, arguments=arguments, reason=reason)
        return None if created is None else self._done(created)

    def request_view(self, request: HttpRequest, action: str) -> HttpResponse:
        """Request ``action`` on the target the query string names (``?account_id=…``)."""
        try:
            definition = registry.get(action)
        except registry.UnknownAction as unknown:
            raise Http404(unknown.detail) from unknown
        if not request.user.has_perm(definition.permission):
            raise PermissionDenied
        arguments = {name: value for name, value in request.GET.items() if name != "_changelist_filters"}
        form = ReasonForm(request.POST or None)
        try:
            summary = [("Action", definition.label), ("Target", definition.describe(arguments).label)]
        except FincoreError as refused:
            messages.error(request, refused.detail)
            return HttpResponseRedirect(reverse("admin:compliance_approvalrequest_changelist"))
        if request.method == "POST" and form.is_valid():
            response = self._create(request, action, arguments, form.cleaned_data["reason"], form)
            if response is not None:
                return response
        return self._render(request, f"Request: {definition.label}", form, summary)

    def edit_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The maker changes a pending adjustment or policy change; its approvals are voided."""
        approval_request = self.get_object(request, unquote(object_id))
        if approval_request is None:
            raise Http404("No such request.")
        form_class = EDITABLE.get(approval_request.action)
        if form_class is None or approval_request.maker_id != request.user.pk or not approval_request.is_pending:
            raise PermissionDenied
        form = form_class(request.POST or None, initial=form_class.initial_from(approval_request.arguments))
        if request.method == "POST" and form.is_valid():
            try:
                edited = services.approval_request_edit(
                    request_id=approval_request.pk, user=request.user, arguments=form.cleaned_data["arguments"],
                    reason=form.cleaned_data["edit_reason"])
            except FincoreError as refused:
                form.add_error(None, refused.detail)
            else:
                messages.success(request, f"Changed (version {edited.version}): earlier approvals are void.")
                return self._done(edited)
        return self._render(request, f"Edit: {approval_request}", form, self._summary(approval_request), "Save")

    def adjustment_view(self, request: HttpRequest) -> HttpResponse:
        """A manual ledger adjustment between suspense, fee revenue and merchants' accounts."""
        if not request.user.has_perm(registry.get(ADJUSTMENT).permission):
            raise PermissionDenied
        form = AdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            response = self._create(request, ADJUSTMENT, form.cleaned_data["arguments"],
                                    form.cleaned_data["note"], form)
            if response is not None:
                return response
        return self._render(request, "Request a manual ledger adjustment", form, [])


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(CsvExportMixin, ReadOnlyModelAdmin):
    money_fields = {"threshold": "currency"}
    list_display = ("action", "currency", "requires_approval", "threshold_display", "approvals_required",
                    "expires_after_hours", "updated_at", "updated_by")
    list_filter = ("requires_approval",)

    @admin.display(description="Executed at once up to")
    def threshold_display(self, policy: ApprovalPolicy) -> str:
        return money(policy.threshold, policy.currency)

    def get_urls(self) -> list:
        return [
            path("request-change/", self.admin_site.admin_view(self.request_change_view),
                 name="compliance_approvalpolicy_request_change"),
            *super().get_urls(),
        ]

    def request_change_view(self, request: HttpRequest) -> HttpResponse:
        """Changing a policy is itself a maker-checker action."""
        if not request.user.has_perm(registry.get(POLICY_CHANGE).permission):
            raise PermissionDenied
        form = PolicyChangeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            created = approval_request_from_form(request, form, action=POLICY_CHANGE,
                                                 arguments=form.cleaned_data["arguments"],
                                                 reason=form.cleaned_data["reason"])
            if created is not None:
                return HttpResponseRedirect(reverse("admin:compliance_approvalrequest_change", args=[created.pk]))
        return TemplateResponse(request, FORM_TEMPLATE, {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": "Request a change of an approval policy", "form": form, "summary": [],
        })
