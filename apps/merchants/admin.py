import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from apps.audit.admin_export import CsvExportMixin
from apps.compliance import services as compliance_services
from apps.compliance.admin_requests import approval_request_from_form
from apps.core import context, ids
from apps.core.actors import Actor
from apps.core.admin import AuditedAdminMixin, reasoned_action
from apps.core.admin_merchants import MerchantAdminMixin
from apps.core.admin_readonly import CappedCountPaginator, PublicIdSearchMixin, ReadOnlyAdminMixin, ReadOnlyModelAdmin
from apps.core.currencies import CURRENCIES
from apps.core.exceptions import FincoreError
from apps.events.webhooks import selectors as events_selectors
from apps.merchants import selectors, services
from apps.merchants.models import ApiKey, BankAccount, Merchant


class ApiKeyInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ApiKey
    fields = ("name", "mode", "hint", "created_at", "created_by", "last_used_at", "revoked_at", "revoked_by")
    readonly_fields = fields
    extra = 0
    show_change_link = True


class IssueApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the key is for, e.g. 'checkout server'.")
    mode = forms.ChoiceField(choices=ApiKey.Mode.choices, initial=ApiKey.Mode.TEST)
    change_reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 2}))


class MerchantForm(forms.ModelForm):
    class Meta:
        model = Merchant
        fields = ("legal_name", "country", "currencies", "rate_limit")

    def clean(self) -> dict:
        cleaned = super().clean()
        if not self.errors:
            try:
                services.merchant_validate(
                    legal_name=cleaned["legal_name"], country=cleaned["country"],
                    currencies=cleaned["currencies"], rate_limit=cleaned.get("rate_limit", ""),
                )
            except services.InvalidMerchant as invalid:
                raise forms.ValidationError(invalid.detail) from invalid
        return cleaned


# Suspending, reactivating and revoking are maker-checker actions: these make the request, and a
# checker's approval runs the service (registered in apps.py).
def _suspend(request: HttpRequest, merchant: Merchant, reason: str) -> None:
    compliance_services.approval_request_create(
        action="merchants.suspend", arguments={"merchant_id": str(merchant.pk)}, user=request.user, reason=reason)


def _activate(request: HttpRequest, merchant: Merchant, reason: str) -> None:
    compliance_services.approval_request_create(
        action="merchants.activate", arguments={"merchant_id": str(merchant.pk)}, user=request.user, reason=reason)


class WebhookEndpointDisabledFilter(admin.SimpleListFilter):
    title = "webhooks"
    parameter_name = "webhooks"

    def lookups(self, request, model_admin):
        return [("disabled", "Webhook endpoint disabled (failing)")]

    def queryset(self, request, queryset):
        if self.value() == "disabled":
            return queryset.filter(webhook_endpoint_disabled=True)
        return queryset


@admin.register(Merchant)
class MerchantAdmin(CsvExportMixin, PublicIdSearchMixin, AuditedAdminMixin, admin.ModelAdmin):
    public_id_prefix = "mer"
    list_display = ("legal_name", "public_id", "country", "status", "currency_list", "webhooks_flag", "created_at")
    list_filter = ("status", "country", WebhookEndpointDisabledFilter)
    search_fields = ("legal_name",)
    readonly_fields = ("public_id", "status", "webhook_endpoints_disabled", "created_at", "updated_at")
    fields = ("public_id", "legal_name", "country", "currencies", "rate_limit", "status", "webhook_endpoints_disabled",
              "created_at", "updated_at")
    form = MerchantForm
    inlines = (ApiKeyInline,)
    actions = [
        reasoned_action(description="Request suspension (refuse all API access)", perform=_suspend,
                        permissions=("request_status",)),
        reasoned_action(description="Request reactivation", perform=_activate, permissions=("request_status",)),
    ]
    change_form_template = "admin/merchants/merchant/change_form.html"

    def has_request_status_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("compliance.request_merchant_status")

    @admin.display(description="Currencies")
    def currency_list(self, merchant: Merchant) -> str:
        return ", ".join(merchant.currencies)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Merchant]:
        # One EXISTS per row in the list's own query, not a query per row.
        failing = events_selectors.merchant_ids_with_failing_webhook_endpoints().filter(merchant_id=OuterRef("pk"))
        return super().get_queryset(request).annotate(webhook_endpoint_disabled=Exists(failing))

    @admin.display(description="Webhooks", ordering="webhook_endpoint_disabled")
    def webhooks_flag(self, merchant: Merchant) -> str:
        return "webhook endpoint disabled" if getattr(merchant, "webhook_endpoint_disabled", False) else ""

    @admin.display(description="Webhook endpoints disabled for failing")
    def webhook_endpoints_disabled(self, merchant: Merchant) -> str:
        endpoints = events_selectors.webhook_endpoints_disabled_for_failing(merchant_id=merchant.pk)
        if not endpoints:
            return "None"
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>{} ({} mode), since {} UTC: {}</li>", (
                (endpoint.url, "live" if endpoint.livemode else "test", f"{endpoint.disabled_at:%Y-%m-%d %H:%M}",
                 endpoint.disabled_reason)
                for endpoint in endpoints
            )),
        )

    def save_model(self, request: HttpRequest, obj: Merchant, form: forms.Form, change: bool) -> None:
        actor, reason = Actor.staff(request.user), self.change_reason_of(form)
        # Bound as well as passed: django-auditlog's entry for this save records it too.
        with context.change_reason(reason):
            if change:
                changes = {field: form.cleaned_data[field] for field in form.changed_data}
                saved = services.merchant_update(merchant_id=obj.pk, changes=changes, actor=actor, reason=reason)
            else:
                saved = services.merchant_create(
                    legal_name=obj.legal_name, country=obj.country, currencies=obj.currencies,
                    rate_limit=obj.rate_limit, actor=actor, reason=reason,
                )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def get_urls(self):
        return [
            path(
                "<path:object_id>/issue-key/",
                self.admin_site.admin_view(self.issue_key_view),
                name="merchants_merchant_issue_key",
            ),
            *super().get_urls(),
        ]

    def issue_key_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Issue an API key and show its secret once; it is never stored or shown again."""
        # get_object() answers None for a malformed id too (get_object_or_404 would crash on it).
        merchant = self.get_object(request, unquote(object_id))
        if merchant is None:
            raise Http404("No such merchant.")
        if not request.user.has_perm("merchants.add_apikey"):
            raise PermissionDenied
        form = IssueApiKeyForm(request.POST or None)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "merchant": merchant,
                   "title": f"Issue an API key for {merchant}", "form": form}
        if request.method == "POST" and form.is_valid():
            issued = services.api_key_create(
                merchant_id=merchant.pk, name=form.cleaned_data["name"], mode=form.cleaned_data["mode"],
                actor=Actor.staff(request.user), reason=form.cleaned_data["change_reason"],
            )
            messages.success(request, f"Key {issued.api_key.hint}… issued.")
            context.update(issued=issued, form=None)
            response = TemplateResponse(request, "admin/merchants/merchant/issue_key.html", context)
            response["Cache-Control"] = "no-store"
            return response
        if request.method == "POST":
            return TemplateResponse(request, "admin/merchants/merchant/issue_key.html", context)
        if not merchant.is_active:
            messages.warning(request, "This merchant is suspended: its keys will be refused until it is activated.")
        return TemplateResponse(request, "admin/merchants/merchant/issue_key.html", context)


def _revoke(request: HttpRequest, api_key: ApiKey, reason: str) -> None:
    compliance_services.approval_request_create(
        action="merchants.api_key_revoke", arguments={"api_key_id": str(api_key.pk)}, user=request.user, reason=reason)


@admin.register(ApiKey)
class ApiKeyAdmin(CsvExportMixin, MerchantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """A merchant's keys. Search: the key's hint or name, ``mer_...`` or the merchant's legal name."""

    list_display = ("hint", "name", "merchant_name", "mode", "created_at", "last_used_at", "revoked_at")
    list_filter = ("mode", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("hint", "name")
    csv_exclude = ("secret_hash",)
    fields = ("merchant_name", "name", "mode", "hint", "created_at", "created_by", "last_used_at", "revoked_at",
              "revoked_by", "revoke_reason")
    readonly_fields = fields
    actions = [reasoned_action(description="Request revocation", perform=_revoke, permissions=("revoke",))]

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("compliance.request_api_key_revoke")


def _merchant_id(text: str) -> uuid.UUID | None:
    """A merchant's id as staff paste it (``mer_…``) or as a page links to it (the UUID)."""
    text = text.strip()
    try:
        return ids.decode("mer", text) or uuid.UUID(text)
    except ValueError:
        return None


class BankAccountChangeForm(forms.Form):
    merchant = forms.CharField(max_length=40, help_text="The merchant's id: mer_…")
    currency = forms.ChoiceField(choices=[(code, code) for code in sorted(CURRENCIES)], initial="BHD",
                                 help_text="The payouts in this currency go to the account")
    iban = forms.CharField(label="IBAN", max_length=50, help_text="As printed; spaces are ignored")
    bic = forms.CharField(label="BIC", max_length=11, required=False,
                          help_text="8 or 11 characters; may be left empty where the IBAN tells the bank")
    beneficiary_name = forms.CharField(max_length=services.BENEFICIARY_NAME_MAX_LENGTH,
                                       help_text="The account holder, as the bank knows them")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Why (the merchant's signed request, how it was verified): the checker and "
                                       "the journal read it")

    def clean_merchant(self) -> str:
        merchant_id = _merchant_id(self.cleaned_data["merchant"])
        if merchant_id is None:
            raise forms.ValidationError("A merchant's id: mer_ and 26 characters.")
        return str(merchant_id)

    def clean(self) -> dict[str, Any]:
        """The account as the service checks it (IBAN per country, the BIC told from it where it can
        be): a refusal is the form's error, and nothing is requested."""
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self._change = services.bank_account_check(
                merchant_id=cleaned["merchant"], currency=cleaned["currency"], iban=cleaned["iban"],
                bic=cleaned["bic"], beneficiary_name=cleaned["beneficiary_name"])
        except FincoreError as refused:
            raise forms.ValidationError(refused.detail) from refused
        return cleaned

    def arguments(self) -> dict[str, str]:
        """The request's arguments, as the checker will read them (the IBAN compact, the BIC as checked)."""
        change = self._change
        return {"merchant_id": str(change.merchant.pk), "currency": change.currency, "iban": change.iban,
                "bic": change.bic, "beneficiary_name": change.beneficiary_name}


@admin.register(BankAccount)
class BankAccountAdmin(CsvExportMixin, MerchantAdminMixin, PublicIdSearchMixin, ReadOnlyModelAdmin):
    """The accounts merchants are paid out to, active and replaced, read only. Setting or changing one
    is asked for on "Request a bank account change": a maker-checker request a compliance supervisor
    approves. Search: ``ba_…``, ``mer_…``, the merchant's legal name, an IBAN, a BIC."""

    public_id_prefix = "ba"
    list_display = ("public_id", "merchant_name", "currency", "iban_formatted", "bic", "beneficiary_name", "status",
                    "payouts_held_until", "created_at", "created_by")
    list_filter = ("status", "currency")
    search_fields = ("=iban", "=bic")
    ordering = ("-created_at",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    fields = ("public_id", "merchant_name", "currency", "iban_formatted", "bic", "beneficiary_name", "status",
              "payouts_held_until", "created_at", "created_by", "replaced_at")
    readonly_fields = fields

    @admin.display(description="IBAN", ordering="iban")
    def iban_formatted(self, account: BankAccount) -> str:
        # Groups of four, as printed on statements, so staff can read it aloud and compare.
        return " ".join(account.iban[i:i + 4] for i in range(0, len(account.iban), 4))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        # An IBAN pasted as printed, with its spaces.
        compact = search_term.replace(" ", "").upper()
        if 15 <= len(compact) <= 34 and compact[:2].isalpha() and compact[2:4].isdigit():
            return queryset.filter(iban=compact), False
        return super().get_search_results(request, queryset, search_term)

    def has_request_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("merchants.request_bank_account_change")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "may_request_change": self.has_request_permission(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path("request-change/", self.admin_site.admin_view(self.request_change_view),
                 name="merchants_bankaccount_request_change"),
            *super().get_urls(),
        ]

    def request_change_view(self, request: HttpRequest) -> HttpResponse:
        """Ask for a merchant's payout account in a currency to be set or changed: a maker-checker
        request, nothing changes yet. ``?merchant=<mer_ id>&currency=BHD`` fills the form in."""
        if not self.has_request_permission(request):
            raise PermissionDenied
        initial = {name: request.GET[name] for name in ("merchant", "currency") if name in request.GET}
        merchant_id = _merchant_id(initial.get("merchant", ""))
        if merchant_id is not None:
            initial["merchant"] = ids.encode("mer", merchant_id)
        form = BankAccountChangeForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            approval = approval_request_from_form(request, form, action=services.BANK_ACCOUNT_SET,
                                                  arguments=form.arguments(), reason=form.cleaned_data["reason"])
            if approval is not None:
                return HttpResponseRedirect(reverse("admin:compliance_approvalrequest_change", args=[approval.pk]))
        current = selectors.bank_account_active(merchant_id=merchant_id, currency=initial.get("currency", "BHD")) \
            if merchant_id else None
        page = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form, "current": current,
                "title": "Request a bank account change"}
        return TemplateResponse(request, "admin/merchants/bank_account_change.html", page)
