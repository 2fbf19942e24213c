"""Money in the admin: one formatter (12.500 BHD by the currency's exponent), one input that takes
major units exactly and refuses what it would have to round."""

import pytest
from django import forms
from django.contrib import admin

from apps.core.admin_money import MoneyAdminMixin, MoneyField, attribute_path, minor_units, money_html, money_text
from apps.core.money import Money


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    (12500, "BHD", "12.500 BHD"),
    (1500, "BHD", "1.500 BHD"),
    (5, "BHD", "0.005 BHD"),
    (-50, "KWD", "-0.050 KWD"),
    (123456, "USD", "1234.56 USD"),
    (1000, "JPY", "1000 JPY"),
    (0, "BHD", "0.000 BHD"),
    (None, "BHD", "-"),
])
def test_amounts_are_shown_by_their_currencys_exponent(amount, currency, shown):
    assert money_text(amount, currency) == shown


def test_an_unknown_currency_shows_its_raw_minor_units_said_so():
    assert money_text(1500, "XTS") == "1500 minor units of XTS"
    assert money_text(1500, None) == "1500 minor units of ?"


def test_money_html_is_a_right_aligned_span_and_escapes():
    assert money_html(12500, "BHD") == '<span class="money">12.500 BHD</span>'
    assert money_html(1, "<b>") == '<span class="money">1 minor units of &lt;b&gt;</span>'


class _Form(forms.Form):
    amount = MoneyField()


@pytest.mark.parametrize(("typed", "currency", "money"), [
    ("12.500", "BHD", Money(12500, "BHD")),
    ("12.5", "BHD", Money(12500, "BHD")),
    (" 12 ", "BHD", Money(12000, "BHD")),
    ("0.001", "BHD", Money(1, "BHD")),
    ("999999999999.999", "BHD", Money(999999999999999, "BHD")),
    ("5", "JPY", Money(5, "JPY")),
    ("10.25", "USD", Money(1025, "USD")),
])
def test_the_money_field_takes_major_units_exactly(typed, currency, money):
    form = _Form({"amount_0": typed, "amount_1": currency})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == money


@pytest.mark.parametrize(("typed", "currency", "reason"), [
    ("12.5001", "BHD", "has 4 fractional digits but BHD allows at most 3"),
    ("5.5", "JPY", "has a fractional part but JPY has no minor unit"),
    ("1,000", "BHD", "is not a plain decimal amount"),
    ("1e3", "BHD", "is not a plain decimal amount"),
    ("12.50", "XTS", "Select a valid choice"),
])
def test_the_money_field_refuses_what_it_would_have_to_round_or_guess(typed, currency, reason):
    form = _Form({"amount_0": typed, "amount_1": currency})
    assert not form.is_valid()
    assert reason in str(form.errors["amount"])


def test_the_money_field_shows_money_in_major_units_and_offers_the_gulf_first():
    form = _Form(initial={"amount": Money(12500, "BHD")})
    html = str(form["amount"])
    assert 'value="12.500"' in html
    assert '<option value="BHD" selected>BHD</option>' in html
    assert html.index('value="BHD"') < html.index('value="AED"') < html.index('value="USD"')
    assert _Form({"amount_0": "", "amount_1": "BHD"}).errors["amount"] == ["This field is required."]


def test_minor_units_converts_exactly_or_refuses_with_the_reason():
    assert minor_units("12.500", "BHD") == 12500
    assert minor_units("0.07", "USD") == 7
    with pytest.raises(forms.ValidationError, match="allows at most 2"):
        minor_units("0.071", "USD")
    with pytest.raises(forms.ValidationError, match="not an ISO 4217 currency"):
        minor_units("1", "BTC")


class _Row:
    def __init__(self, amount, currency):
        self.amount, self.payment = amount, type("Payment", (), {"currency": currency})()


def test_an_admin_declares_its_money_once_and_gets_a_labelled_sortable_column():
    class CaptureAdmin(MoneyAdminMixin, admin.ModelAdmin):
        money_fields = {"amount": "payment__currency"}

    column = CaptureAdmin.amount_money
    assert (column.short_description, column.admin_order_field) == ("Amount", "amount")
    assert column(None, _Row(1500, "BHD")) == '<span class="money">1.500 BHD</span>'
    assert attribute_path(_Row(1, None), "payment__currency") is None
