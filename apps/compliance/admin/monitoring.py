"""Monitoring in the admin: the rules, the high-risk jurisdictions, the merchants' risk profiles and
the movements monitoring recorded, all read only. Changing a rule, a risk tier or a jurisdiction is
asked for on a request page that makes a maker-checker request; a rule's page shows its backtest
(what it would have raised over the last 30 days) before the request is made, and the request
carries it for the checker."""

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.compliance.admin_requests import approval_request_from_form
from apps.compliance.models import HighRiskJurisdiction, MerchantProfile, MonitoredEvent, MonitoringRule, RiskTier
from apps.compliance.monitoring import catalogue, services
from apps.core.admin_readonly import ReadOnlyModelAdmin
from apps.core.exceptions import FincoreError

FORM_TEMPLATE = "admin/compliance/approval_form.html"


class _RequestPageMixin:
    """One request page per screen at ``request/``, opened with ``request_permission``."""

    request_permission: str
    request_title: str

    def get_urls(self) -> list:
        opts = self.model._meta  # type: ignore[attr-defined]
        return [path("request/", self.admin_site.admin_view(self._request_page),  # type: ignore[attr-defined]
                     name=f"{opts.app_label}_{opts.model_name}_request"),
                *super().get_urls()]  # type: ignore[misc]

    def _request_page(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(self.request_permission):
            raise PermissionDenied
        return self.request_view(request)

    def request_view(self, request: HttpRequest) -> HttpResponse:
        raise NotImplementedError

    def _render(self, request: HttpRequest, form: forms.Form, summary: list[tuple[str, str]],
                submit_label: str) -> HttpResponse:
        return TemplateResponse(request, FORM_TEMPLATE, {
            **self.admin_site.each_context(request), "opts": self.model._meta,  # type: ignore[attr-defined]
            "title": self.request_title, "form": form, "summary": summary, "submit_label": submit_label})

    def _request(self, request: HttpRequest, form: forms.Form, action: str, arguments: dict[str, Any]) -> Any:
        made = approval_request_from_form(request, form, action=action, arguments=arguments,
                                          reason=form.cleaned_data["reason"])
        if made is not None:
            return HttpResponseRedirect(reverse("admin:compliance_approvalrequest_change", args=[made.pk]))
        return None

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        opts = self.model._meta  # type: ignore[attr-defined]
        links = [(self.request_title, reverse(f"admin:{opts.app_label}_{opts.model_name}_request"))] \
            if request.user.has_perm(self.request_permission) else []
        return super().changelist_view(request, {**(extra_context or {}), "object_tools_links": links})  # type: ignore[misc]


class RuleForm(forms.Form):
    rule = forms.ModelChoiceField(queryset=MonitoringRule.objects.all(), required=False,
                                  empty_label="A new rule", help_text="The rule to change, or a new one.")
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=MonitoringRule.Kind.choices)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))
    parameters = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
                                 help_text="Per currency, in minor units (see the rule catalogue): "
                                           "{\"BHD\": {\"amount\": 6000000}}")
    severity = forms.ChoiceField(choices=MonitoringRule._meta.get_field("severity").choices)
    action = forms.ChoiceField(choices=MonitoringRule.Action.choices)
    hold_hours = forms.IntegerField(min_value=1, max_value=720, initial=24)
    enabled = forms.BooleanField(required=False, initial=True)
    scope = forms.ChoiceField(choices=MonitoringRule.Scope.choices)
    scope_risk_tier = forms.ChoiceField(choices=[("", "-"), *RiskTier.choices], required=False)
    scope_merchant_id = forms.UUIDField(required=False, help_text="The merchant's id, for a rule on one merchant.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text="Why: the checker and the journal read it.")
    backtested = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_parameters(self) -> Any:
        try:
            parameters = json.loads(self.cleaned_data["parameters"])
        except ValueError as unreadable:
            raise forms.ValidationError("Parameters are JSON.") from unreadable
        problems = catalogue.parameters_problems(self.data.get("kind", ""), parameters)
        if problems:
            raise forms.ValidationError(problems)
        return parameters

    def arguments(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        merchant = cleaned["scope_merchant_id"]
        return {
            "rule_id": cleaned["rule"].pk if cleaned["rule"] else None, "name": cleaned["name"],
            "kind": cleaned["kind"], "description": cleaned["description"], "parameters": cleaned["parameters"],
            "severity": cleaned["severity"], "action": cleaned["action"], "hold_hours": cleaned["hold_hours"],
            "enabled": cleaned["enabled"], "scope": cleaned["scope"], "scope_risk_tier": cleaned["scope_risk_tier"],
            "scope_merchant_id": str(merchant) if merchant else None,
        }


def _rule_initial(rule: MonitoringRule) -> dict[str, Any]:
    return {"rule": rule.pk, "name": rule.name, "kind": rule.kind, "description": rule.description,
            "parameters": json.dumps(rule.parameters), "severity": rule.severity, "action": rule.action,
            "hold_hours": rule.hold_hours, "enabled": rule.enabled, "scope": rule.scope,
            "scope_risk_tier": rule.scope_risk_tier, "scope_merchant_id": rule.scope_merchant_id}


@admin.register(MonitoringRule)
class MonitoringRuleAdmin(_RequestPageMixin, ReadOnlyModelAdmin):
    """The rules: what each watches is in the rule catalogue (README). Each change is a request a
    supervisor approves, with the backtest of the rule as proposed."""

    request_permission = "compliance.request_monitoring_rule_change"
    request_title = "Request a monitoring rule change"
    list_display = ("name", "kind", "severity", "action", "enabled", "scope", "version", "updated_at", "updated_by")
    list_filter = ("kind", "severity", "action", "enabled", "scope")
    search_fields = ("name",)

    def request_view(self, request: HttpRequest) -> HttpResponse:
        """First the backtest of the rule as asked for, then (``backtested``) the request."""
        rule = MonitoringRule.objects.filter(pk=request.GET.get("rule", "")).first() \
            if request.GET.get("rule", "").isdigit() else None
        form = RuleForm(request.POST or None, initial=_rule_initial(rule) if rule else {})
        summary: list[tuple[str, str]] = []
        if request.method == "POST" and form.is_valid():
            arguments = form.arguments()
            if form.cleaned_data["backtested"]:
                made = self._request(request, form, services.RULE_SET, arguments)
                if made is not None:
                    return made
            else:
                try:
                    summary = [("Backtest", services.monitoring_rule_describe(arguments).label)]
                except FincoreError as refused:
                    form.add_error(None, refused.detail)
                else:
                    form = RuleForm({**request.POST.dict(), "backtested": "on"})
                    form.is_valid()
        submit = "Request this change" if summary else "Backtest"
        return self._render(request, form, summary, submit)


class RiskTierForm(forms.Form):
    merchant = forms.ModelChoiceField(queryset=MerchantProfile.objects.all())
    risk_tier = forms.ChoiceField(choices=RiskTier.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text="Why (the due diligence behind it): the checker and the journal read it.")


@admin.register(MerchantProfile)
class MerchantProfileAdmin(_RequestPageMixin, ReadOnlyModelAdmin):
    """What compliance knows of each merchant (kept by the merchants app) and its risk tier."""

    request_permission = "compliance.request_risk_tier_change"
    request_title = "Request a risk tier change"
    list_display = ("legal_name", "country", "risk_tier", "onboarded_at", "updated_at")
    list_filter = ("risk_tier", "country")
    search_fields = ("legal_name", "=merchant_id")

    def request_view(self, request: HttpRequest) -> HttpResponse:
        form = RiskTierForm(request.POST or None, initial={"merchant": request.GET.get("merchant")})
        if request.method == "POST" and form.is_valid():
            arguments = {"merchant_id": str(form.cleaned_data["merchant"].pk),
                         "risk_tier": form.cleaned_data["risk_tier"]}
            made = self._request(request, form, services.RISK_TIER_SET, arguments)
            if made is not None:
                return made
        return self._render(request, form, [], "Request")


class JurisdictionForm(forms.Form):
    country = forms.CharField(min_length=2, max_length=2, help_text="ISO code: IR, KP, …")
    list = forms.ChoiceField(choices=[*HighRiskJurisdiction.List.choices, ("", "Off the lists")], required=False)
    published_on = forms.DateField(required=False, help_text="YYYY-MM-DD: the date of FATF's publication.")
    source = forms.CharField(required=False, max_length=300, help_text="The publication (its title and address).")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text="Why: the checker and the journal read it.")


@admin.register(HighRiskJurisdiction)
class HighRiskJurisdictionAdmin(_RequestPageMixin, ReadOnlyModelAdmin):
    """FATF's lists as published (dated, with the source): read by the high-risk geography rules."""

    request_permission = "compliance.request_jurisdiction_change"
    request_title = "Request a high-risk jurisdiction change"
    list_display = ("name", "country", "list", "published_on", "source", "updated_by")
    list_filter = ("list", "published_on")
    search_fields = ("name", "=country")

    def request_view(self, request: HttpRequest) -> HttpResponse:
        form = JurisdictionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            cleaned = form.cleaned_data
            arguments = {"country": cleaned["country"].upper(), "list": cleaned["list"],
                         "published_on": cleaned["published_on"].isoformat() if cleaned["published_on"] else "",
                         "source": cleaned["source"]}
            made = self._request(request, form, services.JURISDICTION_SET, arguments)
            if made is not None:
                return made
        return self._render(request, form, [], "Request")


@admin.register(MonitoredEvent)
class MonitoredEventAdmin(ReadOnlyModelAdmin):
    """Every movement monitoring recorded, as its windows read them."""

    list_display = ("occurred_at", "kind", "amount", "currency", "merchant_id", "country", "wallet", "failed")
    list_filter = ("kind", "currency", "livemode", "failed")
    search_fields = ("=source_id", "=merchant_id", "=wallet", "=iban", "=card_fingerprint")
    date_hierarchy = "occurred_at"
