"""Merchants by name in every list that belongs to one: a column with the legal name linked to the
merchant's page, a filter and search by legal name or ``mer_...`` id.

Most tables hold a merchant's id, not a foreign key: the merchants app sits above the ledger,
events and payments in the layers, so their models cannot point at it. The admin is the one place
that shows them side by side, so it reads the merchant by its model label (``merchants.Merchant``,
as a cross-app foreign key names its model) in a subquery of the list's own query: the legal name
costs no query per row and no import of the merchants app.
"""

import uuid
from typing import Any

from django.apps import apps as django_apps
from django.contrib import admin
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.core import ids
from apps.core.admin_filters import FilterInput, TypedInputFilter

MERCHANT_MODEL = "merchants.Merchant"
MERCHANT_NAME = "listed_merchant_name"
MERCHANT_ID = "listed_merchant_id"


def merchant_ids_matching(text: str) -> list[uuid.UUID] | QuerySet:
    """The merchants ``text`` names: a ``mer_...`` id or UUID, else every merchant whose legal name
    contains it (case-insensitive), as a subquery."""
    text = text.strip()
    merchant_id = ids.decode("mer", text)
    if merchant_id is not None:
        return [merchant_id]
    try:
        return [uuid.UUID(text)]
    except ValueError:
        merchants = django_apps.get_model(MERCHANT_MODEL)
        return merchants.objects.filter(legal_name__icontains=text).values("pk")


class MerchantFilter(TypedInputFilter):
    """Typed: a legal name (or part of it) or a ``mer_...`` id. Lists no merchants, so it stays
    cheap whatever the size of the table."""

    title = "merchant"
    parameters = ("merchant",)

    def __init__(self, request: HttpRequest, params: dict[str, list[str]], model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        self.lookup = model_admin.merchant_lookup

    def inputs(self) -> list[FilterInput]:
        return [FilterInput("merchant", "Legal name or mer_ id", self.values.get("merchant", ""),
                            placeholder="Legal name or mer_…")]

    def filter_by(self, queryset: QuerySet, values: dict[str, str]) -> QuerySet:
        return queryset.filter(**{f"{self.lookup}__in": merchant_ids_matching(values["merchant"])})


def merchant_link(merchant_id: uuid.UUID | None, legal_name: str | None) -> str:
    if merchant_id is None:
        return "-"
    url = reverse("admin:merchants_merchant_change", args=[merchant_id])
    return format_html('<a href="{}">{}</a>', url, legal_name or ids.encode("mer", merchant_id))


class MerchantAdminMixin:
    """Mix into a ModelAdmin whose rows belong to a merchant (``merchant_lookup`` reaches its id:
    ``merchant_id``, ``endpoint__merchant_id``). Gives the ``merchant_name`` column (use it in
    ``list_display`` and ``fields``), adds :class:`MerchantFilter` to the filters, and lets the
    search box find rows by the merchant's legal name or ``mer_...`` id."""

    merchant_lookup = "merchant_id"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        merchants = django_apps.get_model(MERCHANT_MODEL)
        legal_name = merchants.objects.filter(pk=OuterRef(self.merchant_lookup)).values("legal_name")[:1]
        return super().get_queryset(request).annotate(  # type: ignore[misc]
            **{MERCHANT_ID: F(self.merchant_lookup), MERCHANT_NAME: Subquery(legal_name)}
        )

    def get_list_filter(self, request: HttpRequest) -> list:
        return [MerchantFilter, *super().get_list_filter(request)]  # type: ignore[misc]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        term = search_term.strip()
        if not term:
            return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]
        merchant_id = ids.decode("mer", term)
        if merchant_id is not None:
            return queryset.filter(**{self.merchant_lookup: merchant_id}), False
        if ids.is_public_id(term):
            # Another object's id (pay_..., tr_...): an exact lookup, not a search of merchant names.
            return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)  # type: ignore[misc]
        by_name = queryset.filter(**{f"{self.merchant_lookup}__in": merchant_ids_matching(term)})
        if not getattr(self, "search_fields", ()):
            return by_name, False
        return found | by_name, may_have_duplicates

    @admin.display(description="Merchant", ordering=MERCHANT_NAME)
    def merchant_name(self, obj: Any) -> str:
        return merchant_link(getattr(obj, MERCHANT_ID, None), getattr(obj, MERCHANT_NAME, None))
