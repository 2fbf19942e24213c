"""What settlement's screens share: the currency filter, the stylesheet, asking for a maker-checker
change on a page of its own (``RequestForm``, ``RequestPageAdminMixin``), the links above a list
or a row's page, and dates and percents as staff read them."""

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.compliance.admin_requests import approval_request_from_form
from apps.settlement import selectors

REQUEST_TEMPLATE = "admin/settlement/request_change.html"
# A maker-checker request is executed at once when its policy needs no checker (and may fail then).


class SettlementMedia:
    css = {"all": ["settlement/admin.css"]}


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


def uuid_or_none(text: str | None) -> uuid.UUID | None:
    """A primary key from a URL or a query string: anything else finds no row (rather than a 500)."""
    try:
        return uuid.UUID(text or "")
    except ValueError:
        return None


class ReasonField(forms.CharField):
    def __init__(self, *, help_text: str = "Why (the decision, its reference): the checker and the journal read it.",
                 **kwargs: Any) -> None:
        super().__init__(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), help_text=help_text, **kwargs)


class RequestForm(forms.Form):
    """A form that asks for a maker-checker ``action`` with ``arguments()`` (read once valid) and a
    reason."""

    action: str
    reason = ReasonField()

    def arguments(self) -> dict[str, Any]:
        raise NotImplementedError


def change_requested(model_admin: admin.ModelAdmin, request: HttpRequest, form: RequestForm, *, title: str,
                     explanation: str) -> HttpResponse:
    """The page of a form that asks for ``form.action``: on a valid POST, one maker-checker request
    with ``form.arguments()`` and the reason, then its page; a refusal (the service's own checks, made
    when the request is made) is shown on the form, and nothing is written."""
    if request.method == "POST" and form.is_valid():
        approval = approval_request_from_form(request, form, action=form.action, arguments=form.arguments(),
                                              reason=form.cleaned_data["reason"])
        if approval is not None:
            return HttpResponseRedirect(reverse("admin:compliance_approvalrequest_change", args=[approval.pk]))
    page = {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, "form": form,
            "title": title, "explanation": explanation, "media": model_admin.media}
    return TemplateResponse(request, REQUEST_TEMPLATE, page)


class ObjectToolsMixin:
    """The links above a list (``list_links``) and above a row's page (``object_links``), shown by
    the app's change_list.html and change_form.html."""

    def list_links(self, request: HttpRequest) -> list[tuple[str, str]]:
        return []

    def object_links(self, request: HttpRequest, obj: Model) -> list[tuple[str, str]]:
        return []

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "object_tools_links": self.list_links(request)}
        return super().changelist_view(request, extra_context)  # type: ignore[misc]

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Model | None = None) -> HttpResponse:
        # The row is already read here: its links cost no query of their own.
        context["object_tools_links"] = self.object_links(request, obj) if obj is not None else []
        return super().render_change_form(request, context, add, change, form_url, obj)  # type: ignore[misc]


class RequestPageAdminMixin(ObjectToolsMixin):
    """A read-only screen whose changes are asked for on a page of its own, ``request_view`` at
    ``request-<request_kind>/`` (named ``<app>_<model>_request_<kind>``), opened only with
    ``request_permission``; the list links to it as ``request_label``."""

    request_permission: str
    request_kind = "change"
    request_label: str

    def has_request_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(self.request_permission)

    def request_url(self) -> str:
        opts = self.model._meta  # type: ignore[attr-defined]
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_request_{self.request_kind}")

    def request_links(self, request: HttpRequest) -> list[tuple[str, str]]:
        """The links to the request page(s) from the list: none without the permission."""
        return [(self.request_label, self.request_url())]

    def request_object_links(self, request: HttpRequest, obj: Model) -> list[tuple[str, str]]:
        return []

    def list_links(self, request: HttpRequest) -> list[tuple[str, str]]:
        return self.request_links(request) if self.has_request_permission(request) else []

    def object_links(self, request: HttpRequest, obj: Model) -> list[tuple[str, str]]:
        return self.request_object_links(request, obj) if self.has_request_permission(request) else []

    def get_urls(self) -> list:
        opts = self.model._meta  # type: ignore[attr-defined]
        return [path(f"request-{self.request_kind}/", self.admin_site.admin_view(self._request_page),  # type: ignore[attr-defined]
                     name=f"{opts.app_label}_{opts.model_name}_request_{self.request_kind}"),
                *super().get_urls()]  # type: ignore[misc]

    def _request_page(self, request: HttpRequest) -> HttpResponse:
        if not self.has_request_permission(request):
            raise PermissionDenied
        return self.request_view(request)

    def request_view(self, request: HttpRequest) -> HttpResponse:
        """The request page, once the permission is checked: usually ``change_requested``."""
        raise NotImplementedError
