"""The ISO 4217 table and its exact-lookup rules (pure Python, no Django)."""

import ast
import dataclasses
import pickle
import sys
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core import currencies
from apps.core.currencies import (
    CURRENCIES,
    GCC_CURRENCIES,
    Currency,
    UnknownCurrency,
    get_currency,
    is_currency,
)

THREE_DIGIT = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
ZERO_DIGIT = {
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
    "VND", "VUV", "XAF", "XOF", "XPF",
}  # fmt: skip
FOUR_DIGIT = {"CLF", "UYW"}
EXCLUDED = {
    "XAU", "XAG", "XPT", "XPD", "XTS", "XXX", "XDR", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA",
}  # fmt: skip
WITHDRAWN = {"ANG", "HRK", "SLL", "ZWL", "CUC", "VEF", "MRO", "STD", "BYR", "LTL", "LVL", "EEK"}


def test_table_is_the_complete_active_list():
    assert len(CURRENCIES) == 165
    assert list(CURRENCIES) == sorted(CURRENCIES)


def test_every_row_is_well_formed():
    numerics = set()
    for code, currency in CURRENCIES.items():
        assert currency.code == code
        assert len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()
        assert len(currency.numeric) == 3
        assert currency.numeric.isascii() and currency.numeric.isdigit()
        assert type(currency.exponent) is int and currency.exponent in {0, 2, 3, 4}
        assert currency.name and currency.name == currency.name.strip()
        numerics.add(currency.numeric)
    assert len(numerics) == len(CURRENCIES), "numeric codes must be unique"


def test_exponents_follow_the_standard():
    by_exponent: dict[int, set[str]] = {}
    for code, currency in CURRENCIES.items():
        by_exponent.setdefault(currency.exponent, set()).add(code)
    assert by_exponent[3] == THREE_DIGIT
    assert by_exponent[0] == ZERO_DIGIT
    assert by_exponent[4] == FOUR_DIGIT
    assert by_exponent[2] == set(CURRENCIES) - THREE_DIGIT - ZERO_DIGIT - FOUR_DIGIT


@pytest.mark.parametrize(
    ("code", "numeric", "exponent", "name"),
    [
        ("BHD", "048", 3, "Bahraini Dinar"),
        ("SAR", "682", 2, "Saudi Riyal"),
        ("AED", "784", 2, "UAE Dirham"),
        ("KWD", "414", 3, "Kuwaiti Dinar"),
        ("OMR", "512", 3, "Rial Omani"),
        ("QAR", "634", 2, "Qatari Rial"),
        ("USD", "840", 2, "US Dollar"),
        ("EUR", "978", 2, "Euro"),
        ("GBP", "826", 2, "Pound Sterling"),
        ("JPY", "392", 0, "Yen"),
        ("ALL", "008", 2, "Lek"),
        ("CLF", "990", 4, "Unidad de Fomento"),
        ("UYW", "927", 4, "Unidad Previsional"),
        ("KMF", "174", 0, "Comorian Franc"),
        ("XCG", "532", 2, "Caribbean Guilder"),
        ("SLE", "925", 2, "Leone"),
        ("ZWG", "924", 2, "Zimbabwe Gold"),
    ],
)
def test_known_rows(code, numeric, exponent, name):
    assert get_currency(code) == Currency(code, numeric, exponent, name)


@pytest.mark.parametrize(
    ("code", "minor"), [("BHD", 1000), ("USD", 100), ("JPY", 1), ("CLF", 10_000)]
)
def test_minor_per_major(code, minor):
    assert get_currency(code).minor_per_major == minor


@pytest.mark.parametrize("code", sorted(EXCLUDED | WITHDRAWN))
def test_excluded_and_withdrawn_codes_are_unknown(code):
    assert code not in CURRENCIES
    assert not is_currency(code)
    with pytest.raises(UnknownCurrency):
        get_currency(code)


def test_module_docstring_explains_the_exclusions():
    doc = currencies.__doc__
    assert doc is not None
    for code in EXCLUDED:
        assert code in doc


@pytest.mark.parametrize(
    "bad",
    ["bhd", "Bhd", " BHD", "BHD ", "BHD\n", "BH", "BHDD", "", "B H", "ＢＨＤ", "XYZ"],
)
def test_get_currency_is_exact(bad):
    with pytest.raises(UnknownCurrency) as excinfo:
        get_currency(bad)
    assert excinfo.value.code == bad
    assert str(excinfo.value) == f"{bad!r} is not an ISO 4217 currency code"
    assert is_currency(bad) is False


@pytest.mark.parametrize("bad", [None, 48, 48.0, b"BHD", ["BHD"], {"BHD"}, ("BHD",), object()])
def test_non_str_codes_are_refused_not_crashed_on(bad):
    with pytest.raises(UnknownCurrency) as excinfo:
        get_currency(bad)
    assert excinfo.value.code is bad
    assert "is not an ISO 4217 currency code" in str(excinfo.value)
    assert is_currency(bad) is False


def test_unknown_currency_message_and_type():
    error = UnknownCurrency("XYZ")
    assert str(error) == "'XYZ' is not an ISO 4217 currency code"
    assert isinstance(error, ValueError)
    assert error.code == "XYZ"


def test_unknown_currency_message_is_bounded():
    error = UnknownCurrency("A" * 10_000)
    assert len(str(error)) < 100
    assert error.code == "A" * 10_000


def test_unknown_currency_pickles():
    error = pickle.loads(pickle.dumps(UnknownCurrency("XYZ")))
    assert isinstance(error, UnknownCurrency)
    assert error.code == "XYZ"
    assert str(error) == "'XYZ' is not an ISO 4217 currency code"


def test_currencies_mapping_is_read_only():
    assert isinstance(CURRENCIES, MappingProxyType)
    with pytest.raises(TypeError):
        CURRENCIES["ABC"] = Currency("ABC", "000", 2, "Fake")  # type: ignore[index]
    with pytest.raises(TypeError):
        del CURRENCIES["BHD"]  # type: ignore[attr-defined]


def test_currency_is_frozen_and_slotted():
    bhd = get_currency("BHD")
    with pytest.raises(dataclasses.FrozenInstanceError):
        bhd.exponent = 2  # type: ignore[misc]
    assert not hasattr(bhd, "__dict__")
    assert hash(bhd) == hash(Currency("BHD", "048", 3, "Bahraini Dinar"))


def test_gcc_currencies():
    assert GCC_CURRENCIES == ("BHD", "SAR", "AED", "KWD", "OMR", "QAR")
    assert isinstance(GCC_CURRENCIES, tuple)
    assert all(is_currency(code) for code in GCC_CURRENCIES)


def test_every_code_round_trips_through_get_currency():
    for code, currency in CURRENCIES.items():
        assert get_currency(code) is currency
        assert is_currency(code) is True


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(max_size=5), st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", max_size=4)))
def test_is_currency_agrees_with_get_currency(text):
    expected = text in CURRENCIES
    assert is_currency(text) is expected
    if expected:
        assert get_currency(text).code == text
    else:
        with pytest.raises(UnknownCurrency):
            get_currency(text)


def _imported_top_level_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


@pytest.mark.parametrize("module_name", ["currencies", "money"])
def test_money_modules_use_only_the_standard_library(module_name):
    path = Path(currencies.__file__).with_name(f"{module_name}.py")
    imported = _imported_top_level_modules(path)
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
