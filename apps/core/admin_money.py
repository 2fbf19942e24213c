"""Money in the admin: shown as money, typed as money.

Amounts are stored as integer minor units; staff read and type major units. Everything the admin
shows goes through :func:`money_html` (``12.500 BHD``, by the currency's exponent, in a
``span.money`` that ``fincore/admin.css`` right-aligns), so a list, a detail page, an inline and a
title all say the same thing. The text itself is :meth:`apps.core.money.Money.format`, the one
formatter of the project.

An admin declares its money once, ``money_fields = {"amount": "currency"}`` (amount field ->
where its currency is, a field or a ``__`` path such as ``payment__currency``), and
:class:`MoneyAdminMixin` gives it a ``<field>_money`` column for each: use those names in
``list_display``, ``fields`` and ``readonly_fields``. The CSV export reads the same declaration.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.utils.html import format_html
from django.utils.safestring import SafeString

from apps.core.currencies import CURRENCIES, GCC_CURRENCIES, UnknownCurrency
from apps.core.money import Money, MoneyError

MONEY_COLUMN_SUFFIX = "_money"


def money_text(amount: int | None, currency: str | None) -> str:
    """``"12.500 BHD"``; ``"-"`` when there is no amount. A currency fincore does not know (a row
    older than a rule) is shown as its raw minor units, named so, rather than hidden."""
    if amount is None:
        return "-"
    try:
        return Money(amount, currency).format()
    except (MoneyError, UnknownCurrency):
        return f"{amount} minor units of {currency or '?'}"


def money_html(amount: int | None, currency: str | None) -> SafeString:
    """The amount as staff read it, in a right-aligned ``span.money``."""
    return format_html('<span class="money">{}</span>', money_text(amount, currency))


def attribute_path(obj: Any, path: str) -> Any:
    """``payment__currency`` of a capture: ``capture.payment.currency`` (None if a step is None)."""
    for name in path.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, name)
    return obj


def money_column(amount_field: str, currency_path: str = "currency", *, description: str | None = None
                 ) -> Callable[[Any, Model], SafeString]:
    """An admin display of ``amount_field`` as money, sorted by the amount."""

    def column(modeladmin: Any, obj: Model) -> SafeString:
        return money_html(getattr(obj, amount_field), attribute_path(obj, currency_path))

    label = description or amount_field.replace("_", " ").capitalize()
    column.__name__ = amount_field + MONEY_COLUMN_SUFFIX
    return admin.display(description=label, ordering=amount_field)(column)


class MoneyAdminMixin:
    """For ModelAdmins and inlines: a ``<field>_money`` display for each entry of ``money_fields``
    (unless the class defines its own), with the model field's name as its label."""

    money_fields: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for amount_field, currency_path in cls.money_fields.items():
            name = amount_field + MONEY_COLUMN_SUFFIX
            if name not in cls.__dict__:
                setattr(cls, name, money_column(amount_field, currency_path))


class MoneyField(forms.MultiValueField):
    """An amount typed in major units with its currency: ``"12.500"`` and ``"BHD"`` clean to
    ``Money(12500, "BHD")``, exactly (no float, no rounding). More decimals than the currency has
    (``"12.5001"`` BHD, ``"5.5"`` JPY) are refused with the reason, never rounded."""

    default_error_messages = {"invalid_amount": "%(reason)s"}

    def __init__(self, *, currencies: tuple[str, ...] = (), **kwargs: Any) -> None:
        codes = currencies or (*GCC_CURRENCIES, *(code for code in CURRENCIES if code not in GCC_CURRENCIES))
        fields = (
            forms.CharField(max_length=40),
            forms.ChoiceField(choices=[(code, code) for code in codes]),
        )
        kwargs.setdefault("help_text", "In major units, e.g. 12.500 BHD (no more decimals than the currency has).")
        super().__init__(fields=fields, require_all_fields=True, **kwargs)
        self.widget = MoneyWidget(choices=self.fields[1].choices)

    def compress(self, data_list: list[str]) -> Money | None:
        if not data_list:
            return None
        text, currency = data_list
        try:
            return Money.from_major(text.strip(), currency)
        except (MoneyError, UnknownCurrency) as invalid:
            raise forms.ValidationError(self.error_messages["invalid_amount"], code="invalid_amount",
                                        params={"reason": str(invalid)}) from invalid


class MoneyWidget(forms.MultiWidget):
    def __init__(self, *, choices: Any, attrs: dict | None = None) -> None:
        widgets = (forms.TextInput(attrs={"inputmode": "decimal", "class": "money-input", "size": 16}),
                   forms.Select(choices=choices))
        super().__init__(widgets, attrs)

    def decompress(self, value: Money | None) -> list[str | None]:
        if value is None:
            return [None, None]
        return [value.to_major_str(), value.currency]


def minor_units(text: str, currency: str) -> int:
    """A major-unit amount typed by staff in a known currency, as minor units: ``"12.500"`` BHD ->
    12500. Raises ``forms.ValidationError`` (with the reason) for anything not exact."""
    try:
        return Money.from_major(text.strip(), currency).amount
    except (MoneyError, UnknownCurrency) as invalid:
        raise forms.ValidationError(str(invalid), code="invalid_amount") from invalid
