"""Matching rules in the admin: read only, in priority order, each rule's criteria in words. A rule
is created or changed only by a maker-checker request (treasury asks, a supervisor approves) made
on the request page, which first dry-runs the rule as asked: how many unmatched lines and
expectations it would match now, with a sample, writing nothing. Every rule's page dry-runs the
rule as it is."""

import re
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.compliance.admin_requests import approval_request_from_form
from apps.core.actors import Actor
from apps.core.admin_money import money_text
from apps.core.admin_readonly import ReadOnlyModelAdmin
from apps.core.exceptions import FincoreError
from apps.reconciliation.matching.criteria import FIELDS, MAX_CRITERIA, criteria_parse, criterion_parse
from apps.reconciliation.matching.errors import MatchingRuleInvalid
from apps.reconciliation.models import Cardinality, MatchingRule
from apps.reconciliation.selectors import statements as statement_selectors
from apps.reconciliation.services import rules as services

TEMPLATES = "admin/reconciliation/matchingrule/"
REQUEST_PERMISSION = "reconciliation.request_matchingrule_change"
SAMPLE_SIZE = 10

FIELD_CHOICES = [("", "-"), *((field, field.replace("end_to_end", "end-to-end").replace("_", " ")) for field in FIELDS)]
OPERATOR_CHOICES = [("", "-"), ("exact", "exact"), ("contains", "contains (reference)"),
                    ("tolerance_minor", "± minor units (amount)"), ("tolerance_percent", "± percent (amount)"),
                    ("window_days", "± days (date)"), ("fuzzy", "score ≥ 0-100 (name)")]
# Operators whose value is a whole number; a percentage stays text (the catalogue reads a decimal).
_WHOLE_NUMBERS = {"tolerance_minor", "window_days", "fuzzy"}
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")  # ASCII digits: int() refuses "--5" and "²"
_SHORT_CARDINALITY = {"one_to_one": "one-to-one", "one_to_many": "one-to-many", "many_to_one": "many-to-one"}


def criteria_words(criteria: Any, cardinality: str) -> str:
    """``end-to-end id exact · amount exact``."""
    try:
        return " · ".join(criterion.label() for criterion in criteria_parse(criteria, cardinality=cardinality))
    except MatchingRuleInvalid:
        return f"outside the catalogue: {criteria!r}"


class CriterionForm(forms.Form):
    """One row: a field, an operator and its value, as the catalogue reads them (its own message on
    the row when it does not); a row left blank is no criterion."""

    field = forms.CharField(required=False, widget=forms.Select(choices=FIELD_CHOICES))
    op = forms.CharField(label="Operator", required=False, widget=forms.Select(choices=OPERATOR_CHOICES))
    value = forms.CharField(required=False, max_length=20, widget=forms.TextInput(attrs={"size": 8}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        field, op, value = cleaned.get("field", ""), cleaned.get("op", ""), cleaned.get("value", "").strip()
        if not (field or op or value):
            cleaned["criterion"] = None
            return cleaned
        raw: dict[str, Any] = {"field": field, "op": op}
        if value:
            raw["value"] = int(value) if op in _WHOLE_NUMBERS and _WHOLE_NUMBER.fullmatch(value) else value
        try:
            cleaned["criterion"] = criterion_parse(raw).as_json()
        except MatchingRuleInvalid as refused:
            raise forms.ValidationError(refused.detail) from None
        return cleaned


class BaseCriteriaFormSet(forms.BaseFormSet):
    default_error_messages = {
        **forms.BaseFormSet.default_error_messages,
        "too_many_forms": f"A rule has 1 to {MAX_CRITERIA} criteria.",
    }

    def criteria(self) -> list[dict[str, Any]]:
        return [form.cleaned_data["criterion"] for form in self.forms
                if form.cleaned_data.get("criterion") is not None]

    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.criteria():
            raise forms.ValidationError(f"A rule has 1 to {MAX_CRITERIA} criteria: fill in at least one row.")


CriteriaFormSet = forms.formset_factory(CriterionForm, formset=BaseCriteriaFormSet, extra=MAX_CRITERIA,
                                        max_num=MAX_CRITERIA, absolute_max=MAX_CRITERIA, validate_max=True)


def _nostro_choices() -> list[tuple[str, str]]:
    return [("", "Every nostro"), *((code, code) for code in statement_selectors.nostro_codes())]


class RuleRequestForm(forms.Form):
    rule = forms.ModelChoiceField(queryset=MatchingRule.objects.all(), required=False, empty_label="A new rule",
                                  help_text="The rule to change, or a new one.")
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"size": 60}))
    priority = forms.IntegerField(min_value=1, help_text="Lower runs first; each rule has its own.")
    cardinality = forms.ChoiceField(choices=Cardinality.choices)
    enabled = forms.BooleanField(required=False, help_text="Disabled, the rule is kept but not run.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))
    nostro = forms.ChoiceField(required=False, label="Dry run on",
                               help_text="Whose unmatched statement lines the dry run tries (nothing is written).")
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                             help_text="Why: the checker and the journal read it (needed to request).")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["nostro"].choices = _nostro_choices()

    def arguments(self, criteria: list[dict[str, Any]]) -> dict[str, Any]:
        cleaned = self.cleaned_data
        return {"rule_id": str(cleaned["rule"].pk) if cleaned["rule"] else None, "name": cleaned["name"].strip(),
                "priority": cleaned["priority"], "cardinality": cleaned["cardinality"], "criteria": criteria,
                "enabled": cleaned["enabled"], "description": cleaned["description"]}


def _rule_initial(rule: MatchingRule) -> dict[str, Any]:
    return {"rule": rule.pk, "name": rule.name, "priority": rule.priority, "cardinality": rule.cardinality,
            "enabled": rule.enabled, "description": rule.description}


def _criteria_initial(rule: MatchingRule) -> list[dict[str, Any]]:
    return [{"field": each.get("field", ""), "op": each.get("op", ""),
             "value": "" if each.get("value") is None else str(each["value"])} for each in rule.criteria]


def dry_run_rows(dry_run: services.DryRun) -> list[dict[str, Any]]:
    """The sample as the table shows it: each match's lines and its expectations, in words."""
    return [{
        "lines": [(line.booking_date, money_text(line.amount, line.currency), line.reference or line.end_to_end_id)
                  for line in match.lines],
        "expectations": [(f"{expectation.get_source_display()} {expectation.source_id}",
                          money_text(expectation.amount, expectation.currency),
                          expectation.reference or expectation.end_to_end_id or expectation.group_key)
                         for expectation in match.expectations],
    } for match in dry_run.sample]


@admin.register(MatchingRule)
class MatchingRuleAdmin(ReadOnlyModelAdmin):
    """The rules in the order they run. No direct add, change or delete: each is a request."""

    list_display = ["priority", "name", "cardinality_short", "criteria_in_words", "enabled", "version"]
    list_display_links = ["name"]
    list_filter = ["enabled", "cardinality"]
    search_fields = ["name"]
    ordering = ["priority"]
    fields = ["name", "priority", "cardinality", "criteria_in_words", "enabled", "version", "description",
              "created_at", "changed_at"]
    readonly_fields = fields
    change_list_template = TEMPLATES + "change_list.html"
    change_form_template = TEMPLATES + "change_form.html"

    @admin.display(description="Cardinality", ordering="cardinality")
    def cardinality_short(self, rule: MatchingRule) -> str:
        return _SHORT_CARDINALITY.get(rule.cardinality, rule.cardinality)

    @admin.display(description="Criteria")
    def criteria_in_words(self, rule: MatchingRule) -> str:
        return criteria_words(rule.criteria, rule.cardinality)

    def has_request_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REQUEST_PERMISSION)

    def get_urls(self) -> list:
        return [
            path("request/", self.admin_site.admin_view(self.request_view), name="reconciliation_matchingrule_request"),
            path("<path:object_id>/dry-run/", self.admin_site.admin_view(self.dry_run_view),
                 name="reconciliation_matchingrule_dry_run"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        links = [("Request a new rule", reverse("admin:reconciliation_matchingrule_request"))] \
            if self.has_request_permission(request) else []
        return super().changelist_view(request, {**(extra_context or {}), "object_tools_links": links})

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: MatchingRule | None = None) -> HttpResponse:
        links = []
        if obj is not None:
            links.append(("Dry run", reverse("admin:reconciliation_matchingrule_dry_run", args=[obj.pk])))
            if self.has_request_permission(request):
                links.append(("Request a change",
                              reverse("admin:reconciliation_matchingrule_request") + f"?rule={obj.pk}"))
        context["object_tools_links"] = links
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _page(self, request: HttpRequest, template: str, title: str, **context: Any) -> HttpResponse:
        return TemplateResponse(request, TEMPLATES + template, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **context})

    def dry_run_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A saved rule's dry run, alone, on one nostro's unmatched lines or every nostro's."""
        rule = self.get_object(request, object_id)
        if rule is None:
            raise Http404
        if not self.has_view_permission(request, rule):
            raise PermissionDenied
        nostro = request.GET.get("nostro", "")
        choices = _nostro_choices()
        if nostro not in {code for code, _ in choices}:
            nostro = ""
        dry_run = services.matching_rule_dry_run(rule=rule, nostro_code=nostro, sample_size=SAMPLE_SIZE,
                                                 actor=Actor.staff(request.user))
        return self._page(request, "dry_run.html", f"Dry run of “{rule.name}”", rule=rule, dry_run=dry_run,
                          rows=dry_run_rows(dry_run), nostro=nostro, nostro_choices=choices,
                          words=criteria_words(rule.criteria, rule.cardinality),
                          may_request=self.has_request_permission(request))

    def request_view(self, request: HttpRequest) -> HttpResponse:
        """The rule as asked: ``_dry_run`` shows what it would match now (writing nothing);
        ``_request`` makes the maker-checker request (create, or change the rule chosen)."""
        if not self.has_request_permission(request):
            raise PermissionDenied
        current = None
        if request.method != "POST" and request.GET.get("rule"):
            current = MatchingRule.objects.filter(pk=request.GET["rule"]).first() \
                if _is_uuid(request.GET["rule"]) else None
        form = RuleRequestForm(request.POST or None, initial=_rule_initial(current) if current else {})
        criteria = CriteriaFormSet(request.POST or None, prefix="criteria",
                                   initial=_criteria_initial(current) if current else None)
        dry_run = None
        if request.method == "POST" and form.is_valid() and criteria.is_valid():
            arguments = form.arguments(criteria.criteria())
            try:
                criteria_parse(arguments["criteria"], cardinality=arguments["cardinality"])
            except MatchingRuleInvalid as refused:
                form.add_error(None, refused.detail)
            else:
                if "_request" in request.POST:
                    made = self._request(request, form, arguments)
                    if made is not None:
                        return made
                else:
                    try:
                        dry_run = services.matching_rule_dry_run(
                            arguments=arguments, nostro_code=form.cleaned_data["nostro"], sample_size=SAMPLE_SIZE,
                            actor=Actor.staff(request.user))
                    except FincoreError as refused:
                        form.add_error(None, refused.detail)
        chosen = form.cleaned_data.get("rule") if form.is_bound and form.is_valid() else current
        title = f"Request a change to “{chosen.name}”" if chosen else "Request a new matching rule"
        return self._page(request, "request.html", title, form=form, criteria=criteria, dry_run=dry_run,
                          rows=dry_run_rows(dry_run) if dry_run else [], media=self.media + form.media)

    def _request(self, request: HttpRequest, form: RuleRequestForm, arguments: dict[str, Any]) -> Any:
        reason = form.cleaned_data["reason"].strip()
        if not reason:
            form.add_error("reason", "Say why: the checker and the journal read it.")
            return None
        action = services.RULE_CHANGE if arguments["rule_id"] else services.RULE_CREATE
        if not arguments["rule_id"]:
            arguments.pop("rule_id")
        made = approval_request_from_form(request, form, action=action, arguments=arguments, reason=reason)
        if made is None:
            return None
        return HttpResponseRedirect(reverse("admin:compliance_approvalrequest_change", args=[made.pk]))


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True
