"""ISO 4217 currency table: code, numeric code, minor-unit exponent and English name.

Source: ISO 4217 "List One" (current currency & funds code list) as published by the
maintenance agency on 2026-01-01. Codes, numeric codes, exponents and names are copied
from that list verbatim (only a stray trailing space in "Comorian Franc" was trimmed).
Codes withdrawn before that date (ANG, HRK, SLL, ZWL, CUC, ...) are not present.

Included: every entry of List One that has a numeric minor unit, including the fund
codes that have one (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI), the Unidad Previsional
(UYW) and the Arab Accounting Dinar (XAD), because each of them can be held and moved
as an integer number of minor units.

Excluded: the 13 entries whose minor unit is "N.A." in the standard:
XAU, XAG, XPT, XPD (precious metals), XDR (SDR), XBA, XBB, XBC, XBD (bond market
units), XSU (Sucre), XUA (ADB unit of account), XTS (reserved for testing) and XXX
(no currency involved). Without a minor unit there is no integer representation of an
amount, which is the only representation fincore stores, so these codes are refused
everywhere rather than given an invented exponent.

Lookups are exact: only the upper-case three-letter code is accepted. Normalising user
input (strip, upper-case) is the caller's decision, made once at the boundary, so that a
stored code and a looked-up code can never silently differ.

This module is pure standard library on purpose: it is imported by money arithmetic that
is tested exhaustively and must not pull in Django.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "CURRENCIES",
    "GCC_CURRENCIES",
    "LARGEST_AMOUNT",
    "Currency",
    "UnknownCurrency",
    "get_currency",
    "is_currency",
]


@dataclass(frozen=True, slots=True)
class Currency:
    """One ISO 4217 currency.

    ``code`` is the alphabetic code ("BHD"), ``numeric`` the three-digit numeric code kept
    as a string because its leading zeros are significant ("048"), ``exponent`` the number
    of minor-unit digits (BHD: 3, USD: 2, JPY: 0) and ``name`` the English name from the
    standard.
    """

    code: str
    numeric: str
    exponent: int
    name: str

    @property
    def minor_per_major(self) -> int:
        """How many minor units make one major unit: ``10 ** exponent`` (BHD: 1000)."""
        return 10**self.exponent


class UnknownCurrency(ValueError):
    """Raised for anything that is not an exact, active ISO 4217 code in ``CURRENCIES``.

    ``code`` holds the offending value unchanged (it may not even be a string).
    """

    def __init__(self, code: object) -> None:
        self.code = code
        if isinstance(code, str):
            message = f"{reprlib.repr(code)} is not an ISO 4217 currency code"
        else:
            message = (
                f"{reprlib.repr(code)} is not an ISO 4217 currency code "
                f"(expected str, got {type(code).__name__})"
            )
        super().__init__(message)

    def __reduce__(self) -> tuple[type[UnknownCurrency], tuple[object]]:
        # The default pickling would pass the formatted message back in as ``code``.
        return (type(self), (self.code,))


# (code, numeric, exponent, English name), sorted by code.
_TABLE: tuple[tuple[str, str, int, str], ...] = (
    ("AED", "784", 2, "UAE Dirham"),
    ("AFN", "971", 2, "Afghani"),
    ("ALL", "008", 2, "Lek"),
    ("AMD", "051", 2, "Armenian Dram"),
    ("AOA", "973", 2, "Kwanza"),
    ("ARS", "032", 2, "Argentine Peso"),
    ("AUD", "036", 2, "Australian Dollar"),
    ("AWG", "533", 2, "Aruban Florin"),
    ("AZN", "944", 2, "Azerbaijan Manat"),
    ("BAM", "977", 2, "Convertible Mark"),
    ("BBD", "052", 2, "Barbados Dollar"),
    ("BDT", "050", 2, "Taka"),
    ("BHD", "048", 3, "Bahraini Dinar"),
    ("BIF", "108", 0, "Burundi Franc"),
    ("BMD", "060", 2, "Bermudian Dollar"),
    ("BND", "096", 2, "Brunei Dollar"),
    ("BOB", "068", 2, "Boliviano"),
    ("BOV", "984", 2, "Mvdol"),
    ("BRL", "986", 2, "Brazilian Real"),
    ("BSD", "044", 2, "Bahamian Dollar"),
    ("BTN", "064", 2, "Ngultrum"),
    ("BWP", "072", 2, "Pula"),
    ("BYN", "933", 2, "Belarusian Ruble"),
    ("BZD", "084", 2, "Belize Dollar"),
    ("CAD", "124", 2, "Canadian Dollar"),
    ("CDF", "976", 2, "Congolese Franc"),
    ("CHE", "947", 2, "WIR Euro"),
    ("CHF", "756", 2, "Swiss Franc"),
    ("CHW", "948", 2, "WIR Franc"),
    ("CLF", "990", 4, "Unidad de Fomento"),
    ("CLP", "152", 0, "Chilean Peso"),
    ("CNY", "156", 2, "Yuan Renminbi"),
    ("COP", "170", 2, "Colombian Peso"),
    ("COU", "970", 2, "Unidad de Valor Real"),
    ("CRC", "188", 2, "Costa Rican Colon"),
    ("CUP", "192", 2, "Cuban Peso"),
    ("CVE", "132", 2, "Cabo Verde Escudo"),
    ("CZK", "203", 2, "Czech Koruna"),
    ("DJF", "262", 0, "Djibouti Franc"),
    ("DKK", "208", 2, "Danish Krone"),
    ("DOP", "214", 2, "Dominican Peso"),
    ("DZD", "012", 2, "Algerian Dinar"),
    ("EGP", "818", 2, "Egyptian Pound"),
    ("ERN", "232", 2, "Nakfa"),
    ("ETB", "230", 2, "Ethiopian Birr"),
    ("EUR", "978", 2, "Euro"),
    ("FJD", "242", 2, "Fiji Dollar"),
    ("FKP", "238", 2, "Falkland Islands Pound"),
    ("GBP", "826", 2, "Pound Sterling"),
    ("GEL", "981", 2, "Lari"),
    ("GHS", "936", 2, "Ghana Cedi"),
    ("GIP", "292", 2, "Gibraltar Pound"),
    ("GMD", "270", 2, "Dalasi"),
    ("GNF", "324", 0, "Guinean Franc"),
    ("GTQ", "320", 2, "Quetzal"),
    ("GYD", "328", 2, "Guyana Dollar"),
    ("HKD", "344", 2, "Hong Kong Dollar"),
    ("HNL", "340", 2, "Lempira"),
    ("HTG", "332", 2, "Gourde"),
    ("HUF", "348", 2, "Forint"),
    ("IDR", "360", 2, "Rupiah"),
    ("ILS", "376", 2, "New Israeli Sheqel"),
    ("INR", "356", 2, "Indian Rupee"),
    ("IQD", "368", 3, "Iraqi Dinar"),
    ("IRR", "364", 2, "Iranian Rial"),
    ("ISK", "352", 0, "Iceland Krona"),
    ("JMD", "388", 2, "Jamaican Dollar"),
    ("JOD", "400", 3, "Jordanian Dinar"),
    ("JPY", "392", 0, "Yen"),
    ("KES", "404", 2, "Kenyan Shilling"),
    ("KGS", "417", 2, "Som"),
    ("KHR", "116", 2, "Riel"),
    ("KMF", "174", 0, "Comorian Franc"),
    ("KPW", "408", 2, "North Korean Won"),
    ("KRW", "410", 0, "Won"),
    ("KWD", "414", 3, "Kuwaiti Dinar"),
    ("KYD", "136", 2, "Cayman Islands Dollar"),
    ("KZT", "398", 2, "Tenge"),
    ("LAK", "418", 2, "Lao Kip"),
    ("LBP", "422", 2, "Lebanese Pound"),
    ("LKR", "144", 2, "Sri Lanka Rupee"),
    ("LRD", "430", 2, "Liberian Dollar"),
    ("LSL", "426", 2, "Loti"),
    ("LYD", "434", 3, "Libyan Dinar"),
    ("MAD", "504", 2, "Moroccan Dirham"),
    ("MDL", "498", 2, "Moldovan Leu"),
    ("MGA", "969", 2, "Malagasy Ariary"),
    ("MKD", "807", 2, "Denar"),
    ("MMK", "104", 2, "Kyat"),
    ("MNT", "496", 2, "Tugrik"),
    ("MOP", "446", 2, "Pataca"),
    ("MRU", "929", 2, "Ouguiya"),
    ("MUR", "480", 2, "Mauritius Rupee"),
    ("MVR", "462", 2, "Rufiyaa"),
    ("MWK", "454", 2, "Malawi Kwacha"),
    ("MXN", "484", 2, "Mexican Peso"),
    ("MXV", "979", 2, "Mexican Unidad de Inversion (UDI)"),
    ("MYR", "458", 2, "Malaysian Ringgit"),
    ("MZN", "943", 2, "Mozambique Metical"),
    ("NAD", "516", 2, "Namibia Dollar"),
    ("NGN", "566", 2, "Naira"),
    ("NIO", "558", 2, "Cordoba Oro"),
    ("NOK", "578", 2, "Norwegian Krone"),
    ("NPR", "524", 2, "Nepalese Rupee"),
    ("NZD", "554", 2, "New Zealand Dollar"),
    ("OMR", "512", 3, "Rial Omani"),
    ("PAB", "590", 2, "Balboa"),
    ("PEN", "604", 2, "Sol"),
    ("PGK", "598", 2, "Kina"),
    ("PHP", "608", 2, "Philippine Peso"),
    ("PKR", "586", 2, "Pakistan Rupee"),
    ("PLN", "985", 2, "Zloty"),
    ("PYG", "600", 0, "Guarani"),
    ("QAR", "634", 2, "Qatari Rial"),
    ("RON", "946", 2, "Romanian Leu"),
    ("RSD", "941", 2, "Serbian Dinar"),
    ("RUB", "643", 2, "Russian Ruble"),
    ("RWF", "646", 0, "Rwanda Franc"),
    ("SAR", "682", 2, "Saudi Riyal"),
    ("SBD", "090", 2, "Solomon Islands Dollar"),
    ("SCR", "690", 2, "Seychelles Rupee"),
    ("SDG", "938", 2, "Sudanese Pound"),
    ("SEK", "752", 2, "Swedish Krona"),
    ("SGD", "702", 2, "Singapore Dollar"),
    ("SHP", "654", 2, "Saint Helena Pound"),
    ("SLE", "925", 2, "Leone"),
    ("SOS", "706", 2, "Somali Shilling"),
    ("SRD", "968", 2, "Surinam Dollar"),
    ("SSP", "728", 2, "South Sudanese Pound"),
    ("STN", "930", 2, "Dobra"),
    ("SVC", "222", 2, "El Salvador Colon"),
    ("SYP", "760", 2, "Syrian Pound"),
    ("SZL", "748", 2, "Lilangeni"),
    ("THB", "764", 2, "Baht"),
    ("TJS", "972", 2, "Somoni"),
    ("TMT", "934", 2, "Turkmenistan New Manat"),
    ("TND", "788", 3, "Tunisian Dinar"),
    ("TOP", "776", 2, "Pa’anga"),  # noqa: RUF001 - the currency's own spelling
    ("TRY", "949", 2, "Turkish Lira"),
    ("TTD", "780", 2, "Trinidad and Tobago Dollar"),
    ("TWD", "901", 2, "New Taiwan Dollar"),
    ("TZS", "834", 2, "Tanzanian Shilling"),
    ("UAH", "980", 2, "Hryvnia"),
    ("UGX", "800", 0, "Uganda Shilling"),
    ("USD", "840", 2, "US Dollar"),
    ("USN", "997", 2, "US Dollar (Next day)"),
    ("UYI", "940", 0, "Uruguay Peso en Unidades Indexadas (UI)"),
    ("UYU", "858", 2, "Peso Uruguayo"),
    ("UYW", "927", 4, "Unidad Previsional"),
    ("UZS", "860", 2, "Uzbekistan Sum"),
    ("VED", "926", 2, "Bolívar Soberano"),
    ("VES", "928", 2, "Bolívar Soberano"),
    ("VND", "704", 0, "Dong"),
    ("VUV", "548", 0, "Vatu"),
    ("WST", "882", 2, "Tala"),
    ("XAD", "396", 2, "Arab Accounting Dinar"),
    ("XAF", "950", 0, "CFA Franc BEAC"),
    ("XCD", "951", 2, "East Caribbean Dollar"),
    ("XCG", "532", 2, "Caribbean Guilder"),
    ("XOF", "952", 0, "CFA Franc BCEAO"),
    ("XPF", "953", 0, "CFP Franc"),
    ("YER", "886", 2, "Yemeni Rial"),
    ("ZAR", "710", 2, "Rand"),
    ("ZMW", "967", 2, "Zambian Kwacha"),
    ("ZWG", "924", 2, "Zimbabwe Gold"),
)

CURRENCIES: Mapping[str, Currency] = MappingProxyType({row[0]: Currency(*row) for row in _TABLE})
"""Read-only mapping of alphabetic code to :class:`Currency`, in code order."""

GCC_CURRENCIES: tuple[str, ...] = ("BHD", "SAR", "AED", "KWD", "OMR", "QAR")
"""Gulf Cooperation Council currencies; fincore's home market is Bahrain (BHD) first."""

del _TABLE

LARGEST_AMOUNT = 10**15 - 1
"""The largest amount one payment, capture, refund or transfer may carry, in minor units of its
currency: fifteen digits. In major units that depends on the exponent — 999,999,999,999,999 JPY
(0), 9,999,999,999,999.99 USD (2), 999,999,999,999.999 BHD (3), 99,999,999,999.9999 CLF (4) —
above any real payment in any currency, and small enough that a balance (a PostgreSQL bigint, up
to 9.2 * 10**18 minor units) takes 9,223 of the largest amounts before it could overflow.

One bound in minor units for every currency (rather than one per currency in major units) keeps
the API's schema exact: its ``maximum`` is this number whatever the currency.
"""


def get_currency(code: str) -> Currency:
    """Return the :class:`Currency` for an exact upper-case ISO 4217 code.

    Invariant: the returned ``Currency.code == code``.
    Raises :class:`UnknownCurrency` for unknown or excluded codes and for anything that is
    not exactly the code: lower case, surrounding whitespace, non-str values.
    """
    # Type check before the lookup: an unhashable value (a list) must raise UnknownCurrency
    # like any other bad input, not a TypeError from the dict.
    if isinstance(code, str):
        currency = CURRENCIES.get(code)
        if currency is not None:
            return currency
    raise UnknownCurrency(code)


def is_currency(code: object) -> bool:
    """True iff ``get_currency(code)`` would succeed. Never raises, whatever ``code`` is."""
    return isinstance(code, str) and code in CURRENCIES
