"""Routing and connectors in the admin: connector settings (with live breaker state and success
rate), ordered routing rules, the sandbox networks' operations, and a dry-run that shows where a
described payment would go. Every change asks why, goes through a service and is journaled."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.postgres.forms import SimpleArrayField
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from apps.audit.admin_export import CsvExportMixin
from apps.compliance import services as compliance_services
from apps.core import context, ids
from apps.core.actors import Actor
from apps.core.admin import AuditedAdminMixin, reasoned_action
from apps.core.admin_money import MoneyAdminMixin, MoneyField, minor_units, money_text
from apps.core.admin_readonly import CappedCountPaginator, PublicIdSearchMixin, ReadOnlyModelAdmin
from apps.core.money import Money
from apps.routing import selectors, services
from apps.routing.data import Method, PaymentDescription
from apps.routing.models import Connector, RoutingRule, SandboxOperation


def _codes_field(label: str, *, required: bool = False, max_length: int = 3, help_text: str = "") -> SimpleArrayField:
    return SimpleArrayField(
        forms.CharField(max_length=max_length), required=required, label=label, help_text=help_text,
    )


def _upper(values: list[str]) -> list[str]:
    return [value.strip().upper() for value in values]


class ServiceValidatedForm(forms.ModelForm):
    """A form whose ``clean`` asks the service to validate: the model's database constraints,
    checked again by Django afterwards, then only repeat what the service already said."""

    def _post_clean(self) -> None:
        said = list(self.errors.get(NON_FIELD_ERRORS, []))
        super()._post_clean()
        if said:
            self._errors[NON_FIELD_ERRORS] = self.error_class(said, error_class="nonfield")


# --- connectors ---------------------------------------------------------------------------


class AmountLimitsField(forms.JSONField):
    """A connector's amount limits per currency, typed in major units as text
    (``{"BHD": {"min": "0.100", "max": "1000.000"}}``) and stored in minor units (100, 1000000).
    An amount written as a JSON number with a fraction is refused: JSON numbers are floats."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, dict):
            value = {currency: {bound: money_text(amount, currency).rpartition(" ")[0]
                                if isinstance(amount, int) else amount for bound, amount in bounds.items()}
                     if isinstance(bounds, dict) else bounds for currency, bounds in value.items()}
        return super().prepare_value(value)

    def clean(self, value: Any) -> Any:
        limits = super().clean(value)
        if not isinstance(limits, dict):
            return limits
        cleaned = {}
        for currency, bounds in limits.items():
            if not isinstance(bounds, dict):
                cleaned[currency] = bounds  # the service names the mistake
                continue
            cleaned[currency] = {}
            for bound, amount in bounds.items():
                if isinstance(amount, bool) or not isinstance(amount, str | int):
                    raise forms.ValidationError(f'{currency} {bound}: write the amount as text, e.g. "12.500".')
                cleaned[currency][bound] = minor_units(str(amount), str(currency))
        return cleaned

    def has_changed(self, initial: Any, data: Any) -> bool:
        # The form shows major units and the row holds minor units: compare what would be stored.
        try:
            return (self.clean(data) or None) != (initial or None)
        except forms.ValidationError:
            return True


class ConnectorForm(ServiceValidatedForm):
    currencies = _codes_field("Currencies", required=True, help_text="ISO 4217 codes, comma-separated: BHD,USD.")
    countries = _codes_field("Countries", max_length=2, help_text="ISO 3166 codes, comma-separated; empty: any.")
    amount_limits = AmountLimitsField(
        required=False, initial=dict,
        help_text='Per currency, in major units: {"BHD": {"min": "0.100", "max": "1000.000"}}; either bound may be '
                  "left out. A currency not listed has no limit.")

    class Meta:
        model = Connector
        fields = services.CONNECTOR_FIELDS

    def clean_currencies(self) -> list[str]:
        return _upper(self.cleaned_data["currencies"])

    def clean_countries(self) -> list[str]:
        return _upper(self.cleaned_data["countries"])

    def clean(self) -> dict:
        cleaned = super().clean()
        if not self.errors:
            current = {field: getattr(self.instance, field) for field in services.CONNECTOR_FIELDS}
            proposed = {**current, **{k: v for k, v in cleaned.items() if k in services.CONNECTOR_FIELDS}}
            try:
                services.connector_validate(proposed)
            except services.InvalidConnector as invalid:
                raise forms.ValidationError(invalid.detail) from invalid
        return cleaned


class ConnectorChangeList(ChangeList):
    """Attaches each connector's health (one Redis round trip for the page) to its row."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        statuses = selectors.connector_statuses([connector.name for connector in self.result_list])
        for connector in self.result_list:
            connector.health = statuses.get(connector.name)


def _reset_breaker(request: HttpRequest, connector: Connector, reason: str) -> None:
    services.breaker_reset(name=connector.name, actor=Actor.staff(request.user), reason=reason)


def _request_disabling(request: HttpRequest, connector: Connector, reason: str) -> None:
    compliance_services.approval_request_create(
        action="routing.connector_disable", arguments={"name": connector.name, "changes": {"enabled": False}},
        user=request.user, reason=reason)


def _request_enabling(request: HttpRequest, connector: Connector, reason: str) -> None:
    compliance_services.approval_request_create(
        action="routing.connector_enable", arguments={"name": connector.name, "changes": {"enabled": True}},
        user=request.user, reason=reason)


def _open_until(status: selectors.ConnectorStatus) -> str:
    moment = datetime.fromtimestamp(status.open_until_ms / 1000, tz=UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


@admin.register(Connector)
class ConnectorAdmin(CsvExportMixin, AuditedAdminMixin, admin.ModelAdmin):
    form = ConnectorForm
    # The sandbox simulator's rates are on the connector's page.
    list_display = ("name", "display_name", "method", "mode", "enabled", "currency_list", "breaker",
                    "recent_success_rate")
    list_filter = ("livemode", "method", "enabled")
    search_fields = ("name", "display_name")
    actions = [
        reasoned_action(description="Reset the circuit breaker (close it)", perform=_reset_breaker),
        # Disabling and enabling are maker-checker actions (registered in apps.py).
        reasoned_action(description="Request disabling", perform=_request_disabling, permissions=("request",)),
        reasoned_action(description="Request enabling", perform=_request_enabling, permissions=("request",)),
    ]
    fieldsets = (
        (None, {"fields": ("name", "display_name", "adapter", "method", "livemode", "enabled")}),
        ("Eligibility", {"fields": ("currencies", "countries", "amount_limits")}),
        ("Failover", {"fields": ("error_codes",)}),
        ("Circuit breaker", {"fields": ("breaker", "recent_success_rate", "breaker_window_seconds",
                                        "breaker_min_samples", "breaker_failure_ratio", "breaker_open_seconds")}),
        ("Sandbox simulator", {"fields": ("latency_ms", "decline_rate", "timeout_rate", "outage_rate",
                                          "confirm_after_seconds")}),
    )

    def has_request_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("compliance.request_connector_change")

    def get_readonly_fields(self, request: HttpRequest, obj: Connector | None = None) -> tuple[str, ...]:
        # Enabled or not changes through a request (actions "Request disabling/enabling").
        fixed = ("name", "adapter", "method", "livemode", "enabled") if obj is not None else ()
        return (*fixed, "breaker", "recent_success_rate")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ConnectorChangeList

    def _status(self, connector: Connector) -> selectors.ConnectorStatus | None:
        if connector._state.adding:
            return None
        if not hasattr(connector, "health"):
            connector.health = selectors.connector_statuses([connector.name]).get(connector.name)
        return connector.health

    @admin.display(description="Mode", ordering="livemode")
    def mode(self, connector: Connector) -> str:
        return "live" if connector.livemode else "test"

    @admin.display(description="Currencies")
    def currency_list(self, connector: Connector) -> str:
        return ", ".join(connector.currencies)

    @admin.display(description="Circuit breaker")
    def breaker(self, connector: Connector) -> str:
        status = self._status(connector)
        if status is None:
            return "-"
        if status.breaker == "closed":
            return "closed"
        label = status.breaker.replace("_", "-")
        return format_html("<strong>{}</strong> (open until {})", label, _open_until(status))

    @admin.display(description="Success rate (10 min)")
    def recent_success_rate(self, connector: Connector) -> str:
        status = self._status(connector)
        if status is None or status.success_rate is None:
            return "no attempts"
        return f"{status.success_rate * 100:.1f}% of {status.attempts}"

    def save_model(self, request: HttpRequest, obj: Connector, form: forms.Form, change: bool) -> None:
        actor, reason = Actor.staff(request.user), self.change_reason_of(form)
        with context.change_reason(reason):
            if change:
                changes = {f: form.cleaned_data[f] for f in form.changed_data if f in services.CONNECTOR_EDITABLE}
                saved = services.connector_update(name=obj.name, changes=changes, actor=actor, reason=reason)
            else:
                fields = {f: form.cleaned_data[f] for f in services.CONNECTOR_FIELDS if f in form.cleaned_data}
                saved = services.connector_create(fields=fields, actor=actor, reason=reason)
        obj.pk = saved.pk
        obj.refresh_from_db()


# --- routing rules ------------------------------------------------------------------------


class MerchantIdsField(SimpleArrayField):
    """Merchant ids, comma-separated, as merchants see them (mer_...) or as UUIDs."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(forms.CharField(), **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ",".join(ids.encode("mer", item) if isinstance(item, uuid.UUID) else str(item) for item in value)
        return value

    def clean(self, value: Any) -> list[uuid.UUID]:
        merchant_ids = []
        for text in super().clean(value):
            text = text.strip()
            merchant_id = ids.decode("mer", text)
            if merchant_id is None:
                try:
                    merchant_id = uuid.UUID(text)
                except ValueError as invalid:
                    raise forms.ValidationError(f"{text!r} is not a merchant id (mer_...)") from invalid
            merchant_ids.append(merchant_id)
        return merchant_ids


class RoutingRuleForm(ServiceValidatedForm):
    methods = _codes_field("Methods", max_length=10, help_text="card, instant, wire, wallet; empty: any.")
    currencies = _codes_field("Currencies", help_text="ISO 4217, comma-separated; empty: any.")
    countries = _codes_field("Countries", max_length=2, help_text="ISO 3166, comma-separated; empty: any.")
    merchant_ids = MerchantIdsField(required=False, label="Merchants", help_text="mer_... ids; empty: any merchant.")
    connectors = SimpleArrayField(forms.CharField(max_length=50), label="Connectors",
                                  help_text="Connector names in order, comma-separated.")
    weights = SimpleArrayField(forms.IntegerField(min_value=0), required=False, label="Weights",
                               help_text="Volume split only: one per connector, e.g. 70,30.")
    min_amount = forms.CharField(required=False, label="Minimum amount",
                                 help_text="In major units of the rule's one currency, e.g. 1.000 for 1.000 BHD.")
    max_amount = forms.CharField(required=False, label="Maximum amount", help_text="In major units, included.")

    class Meta:
        model = RoutingRule
        fields = services.RULE_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rule = self.instance
        if len(rule.currencies) == 1:
            for bound in ("min_amount", "max_amount"):
                amount = getattr(rule, bound)
                if amount is not None:
                    self.initial[bound] = Money(amount, rule.currencies[0]).to_major_str()

    def clean_methods(self) -> list[str]:
        return [value.strip().lower() for value in self.cleaned_data["methods"]]

    def clean_currencies(self) -> list[str]:
        return _upper(self.cleaned_data["currencies"])

    def clean_countries(self) -> list[str]:
        return _upper(self.cleaned_data["countries"])

    def clean_connectors(self) -> list[str]:
        return [value.strip() for value in self.cleaned_data["connectors"]]

    def _amount_bounds_in_minor_units(self, cleaned: dict) -> None:
        """Typed in major units of the rule's one currency; stored in its minor units."""
        currencies = cleaned.get("currencies") or []
        for bound in ("min_amount", "max_amount"):
            text = (cleaned.get(bound) or "").strip()
            if not text:
                cleaned[bound] = None
            elif len(currencies) != 1:
                self.add_error(bound, "An amount bound needs exactly one currency: it is in that currency.")
            else:
                try:
                    cleaned[bound] = minor_units(text, currencies[0])
                except forms.ValidationError as invalid:
                    self.add_error(bound, invalid)

    def clean(self) -> dict:
        cleaned = super().clean()
        self._amount_bounds_in_minor_units(cleaned)
        if not self.errors:
            current = {field: getattr(self.instance, field) for field in services.RULE_FIELDS}
            proposed = {**current, **{k: v for k, v in cleaned.items() if k in services.RULE_FIELDS}}
            try:
                services.routing_rule_validate(proposed)
            except services.InvalidRoutingRule as invalid:
                raise forms.ValidationError(invalid.detail) from invalid
        return cleaned


class DryRunForm(forms.Form):
    livemode = forms.TypedChoiceField(choices=[("false", "test"), ("true", "live")], initial="false", label="Mode",
                                      coerce=lambda value: value == "true", required=False, empty_value=False)
    method = forms.ChoiceField(choices=[(m.value, m.value) for m in Method], initial=Method.CARD)
    amount = MoneyField(initial=Money(12_500, "BHD"))
    country = forms.CharField(max_length=2, initial="BH", help_text="The payer's country.")
    merchant = forms.CharField(required=False, help_text="mer_... (optional).")
    metadata = forms.JSONField(required=False, initial=dict, help_text='e.g. {"channel": "pos"}')
    payment_id = forms.UUIDField(required=False, help_text="Optional: splits and exploration draw from it. "
                                                          "Empty: a new random id.")
    exclude = SimpleArrayField(forms.CharField(), required=False, help_text="Connectors already tried.")

    def clean_amount(self) -> Money:
        amount = self.cleaned_data["amount"]
        if not amount.is_positive:
            raise forms.ValidationError("The amount must be more than zero.")
        return amount

    def clean_country(self) -> str:
        return self.cleaned_data["country"].strip().upper()

    def clean_merchant(self) -> uuid.UUID | None:
        text = self.cleaned_data["merchant"].strip()
        if not text:
            return None
        merchant_id = ids.decode("mer", text)
        if merchant_id is None:
            raise forms.ValidationError("Not a merchant id (mer_...).")
        return merchant_id

    def clean_metadata(self) -> dict:
        metadata = self.cleaned_data["metadata"] or {}
        if not isinstance(metadata, dict):
            raise forms.ValidationError("An object of keys to values, e.g. {\"channel\": \"pos\"}.")
        return metadata

    def description(self) -> PaymentDescription:
        data = self.cleaned_data
        return PaymentDescription(
            payment_id=data["payment_id"] or uuid.uuid4(), merchant_id=data["merchant"], amount=data["amount"].amount,
            currency=data["amount"].currency, method=Method(data["method"]), country=data["country"],
            livemode=data["livemode"], metadata=data["metadata"],
        )


@admin.register(RoutingRule)
class RoutingRuleAdmin(CsvExportMixin, AuditedAdminMixin, admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = ("position", "name", "mode", "enabled", "conditions", "strategy", "output")
    list_display_links = ("position", "name")
    list_filter = ("livemode", "enabled", "strategy")
    search_fields = ("name", "description")
    ordering = ("livemode", "position")
    change_list_template = "admin/routing/routingrule/change_list.html"
    fieldsets = (
        (None, {"fields": ("name", "livemode", "position", "enabled", "description")}),
        ("Conditions (all must hold; empty matches anything)", {
            "fields": ("methods", "currencies", "countries", "merchant_ids", "min_amount", "max_amount", "metadata"),
        }),
        ("Output", {"fields": ("strategy", "connectors", "weights", "exploration_share")}),
    )

    @admin.display(description="Mode", ordering="livemode")
    def mode(self, rule: RoutingRule) -> str:
        return "live" if rule.livemode else "test"

    @admin.display(description="Conditions")
    def conditions(self, rule: RoutingRule) -> str:
        parts = []
        for label, values in (("method", rule.methods), ("currency", rule.currencies), ("country", rule.countries)):
            if values:
                parts.append(f"{label} in {', '.join(values)}")
        if rule.merchant_ids:
            parts.append(f"{len(rule.merchant_ids)} merchant(s)")
        if rule.min_amount is not None or rule.max_amount is not None:
            currency = rule.currencies[0] if len(rule.currencies) == 1 else None
            low, high = (money_text(bound, currency) if bound is not None else "" for bound in
                         (rule.min_amount, rule.max_amount))
            parts.append(f"amount {low}..{high}")
        parts += [f"metadata {key}={value}" for key, value in (rule.metadata or {}).items()]
        return "; ".join(parts) or "any payment"

    @admin.display(description="Connectors")
    def output(self, rule: RoutingRule) -> str:
        if rule.strategy == RoutingRule.Strategy.VOLUME_SPLIT:
            return ", ".join(f"{name} ({weight})" for name, weight in zip(rule.connectors, rule.weights, strict=False))
        if rule.strategy == RoutingRule.Strategy.SUCCESS_RATE:
            return f"{', '.join(rule.connectors)} (exploring {rule.exploration_share * 100:.0f}%)"
        return " → ".join(rule.connectors)

    def save_model(self, request: HttpRequest, obj: RoutingRule, form: forms.Form, change: bool) -> None:
        actor, reason = Actor.staff(request.user), self.change_reason_of(form)
        with context.change_reason(reason):
            if change:
                changes = {f: form.cleaned_data[f] for f in form.changed_data if f in services.RULE_FIELDS}
                saved = services.routing_rule_update(rule_id=obj.pk, changes=changes, actor=actor, reason=reason)
            else:
                fields = {f: form.cleaned_data[f] for f in services.RULE_FIELDS if f in form.cleaned_data}
                saved = services.routing_rule_create(fields=fields, actor=actor, reason=reason)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def get_urls(self):
        return [
            path("dry-run/", self.admin_site.admin_view(self.dry_run_view), name="routing_routingrule_dry_run"),
            *super().get_urls(),
        ]

    def dry_run_view(self, request: HttpRequest) -> HttpResponse:
        """Where a described payment would go now: changes nothing (no breaker probe is taken)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = DryRunForm(request.POST or None)
        page = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Routing dry-run",
                "form": form}
        if request.method == "POST" and form.is_valid():
            description = form.description()
            decision = services.route(description=description, exclude=form.cleaned_data["exclude"] or (),
                                      claim_probes=False)
            page.update(
                description=description, decision=decision,
                candidates=[(name, decision.scores.get(name)) for name in decision.candidates],
                decision_json=json.dumps(decision.as_dict(), indent=2),
            )
        return TemplateResponse(request, "admin/routing/dry_run.html", page)


@admin.register(SandboxOperation)
class SandboxOperationAdmin(CsvExportMixin, MoneyAdminMixin, PublicIdSearchMixin, ReadOnlyModelAdmin):
    """What the sandbox networks did. Search: the payment's ``pay_...``, the connector, the
    operation's reference (or its parent's), the idempotency key."""

    related_public_ids = (("pay", "payment_id"),)
    money_fields = {"amount": "currency"}
    list_display = ("created_at", "connector", "kind", "outcome", "error_code", "amount_money", "reference",
                    "payment_id")
    list_filter = ("connector", "kind", "outcome")
    search_fields = ("=reference", "=idempotency_key", "=parent_reference", "=connector")
    # The table only grows: no COUNT(*) of it per page.
    paginator = CappedCountPaginator
    show_full_result_count = False
