"""What settlement's screens share: the currency filter, asking for a maker-checker change from a
form, and dates and percents as staff read them."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from apps.compliance import services as compliance_services
from apps.core.exceptions import FincoreError
from apps.settlement import selectors

REQUEST_TEMPLATE = "admin/settlement/request_change.html"


class CurrencyFilter(admin.SimpleListFilter):
    """The currencies with a business calendar (a handful of rows), not a DISTINCT over the list."""

    title = "currency"
    parameter_name = "currency"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(currency, currency) for currency in selectors.calendar_currencies()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(currency=self.value()) if self.value() else queryset


def percent_text(percent: Decimal | None) -> str:
    return "-" if percent is None else f"{percent.normalize():f} %"


def currency_choices() -> list[tuple[str, str]]:
    return [(currency, currency) for currency in selectors.calendar_currencies()]


class ReasonField(forms.CharField):
    def __init__(self, *, help_text: str = "Why (the decision, its reference): the checker and the journal read it.",
                 **kwargs: Any) -> None:
        super().__init__(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), help_text=help_text, **kwargs)


def change_requested(model_admin: admin.ModelAdmin, request: HttpRequest, form: forms.Form, *, action: str,
                     title: str, explanation: str) -> HttpResponse:
    """The page of a form that asks for ``action``: on a valid POST, one maker-checker request with
    ``form.arguments()`` and the reason, then its page; a refusal (the service's own checks, made
    when the request is made) is shown on the form, and nothing is written."""
    if request.method == "POST" and form.is_valid():
        try:
            approval = compliance_services.approval_request_create(
                action=action, arguments=form.arguments(), user=request.user, reason=form.cleaned_data["reason"])
        except FincoreError as refused:
            form.add_error(None, refused.detail)
        else:
            model_admin.message_user(request, f"Requested ({approval.get_state_display().lower()}): {approval}.",
                                     messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:compliance_approvalrequest_change", args=[approval.pk]))
    page = {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, "form": form,
            "title": title, "explanation": explanation, "media": model_admin.media}
    return TemplateResponse(request, REQUEST_TEMPLATE, page)
