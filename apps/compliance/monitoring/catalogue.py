"""The rule catalogue: what each kind of monitoring rule watches and the parameters it reads.

A rule's ``parameters`` hold one set per currency, amounts in minor units of that currency
(BHD has three decimals: 1 BHD = 1000)::

    {"BHD": {"amount": 5000000}, "USD": {"amount": 13000000}}

A rule applies only to movements in a currency it has parameters for. Windows are sliding:
"the last ``window_minutes`` up to and including the movement evaluated"; they count payments
that did not fail, refunds, payouts and wallet transfers recorded in ``MonitoredEvent``, in the
same mode (live or test) and currency.

- **large_amount** — one payment, wallet transfer or payout of at least ``amount``.
  Subject: the merchant.
- **velocity** — per ``dimension`` (``merchant``, ``wallet``, ``card_fingerprint`` or ``iban``),
  the payments and wallet transfers in the last ``window_minutes`` reach ``threshold``, counted
  (``measure: "count"``) or summed (``measure: "sum"``, minor units). Subject: the merchant, the
  customer wallet, or the card or IBAN (a counterparty).
- **structuring** — per ``dimension`` (default ``merchant``), at least ``count`` amounts in the
  last ``window_minutes`` each within ``below_percent`` % below ``amount`` (the large-amount
  threshold they keep under): ``amount * (100 - below_percent) / 100 ≤ each < amount``.
  Subject: as velocity's.
- **high_risk_geography** — a payment (the payer's country) or payout (the beneficiary's) of at
  least ``min_amount`` (default 0) from or to a jurisdiction on one of ``lists`` (default both:
  ``call_for_action``, ``increased_monitoring``; FATF's lists as published, kept in the admin)
  or in ``countries`` (ISO codes the institution adds). Subject: the merchant.
- **first_large_after_onboarding** — the merchant's first movement of at least ``amount``
  within ``days`` of its onboarding. Subject: the merchant.
- **round_amount** — an amount of at least ``min_amount`` that is a multiple of ``multiple``,
  when the merchant had at least ``count`` such round amounts (this one included) in the last
  ``window_minutes``. Subject: the merchant.
- **refund_abuse** — on a refund: the merchant's refunds in the last ``window_days`` sum to at
  least ``ratio_percent`` % of its payments in that window, with at least ``min_refunds``
  refunds. Subject: the merchant.
- **sanctions_hit** — raised by sanctions screening (a name matched a list entry), never by a
  movement; its parameters are screening's.

This module is plain Python (no Django): the admin's form and the maker-checker action validate
a rule's parameters with :func:`parameters_problems`.
"""

from collections.abc import Mapping
from typing import Any

DIMENSIONS = ("merchant", "wallet", "card_fingerprint", "iban")
LISTS = ("call_for_action", "increased_monitoring")
MEASURES = ("count", "sum")

# kind → {key: (kind of value, required)}. "int" is a non-negative integer, "positive" one above zero.
PARAMETERS: dict[str, dict[str, tuple[str, bool]]] = {
    "large_amount": {"amount": ("positive", True)},
    "velocity": {"dimension": ("dimension", True), "measure": ("measure", True), "threshold": ("positive", True),
                 "window_minutes": ("positive", True)},
    "structuring": {"amount": ("positive", True), "below_percent": ("percent", True), "count": ("positive", True),
                    "window_minutes": ("positive", True), "dimension": ("dimension", False)},
    "high_risk_geography": {"min_amount": ("int", False), "lists": ("lists", False), "countries": ("countries", False)},
    "first_large_after_onboarding": {"amount": ("positive", True), "days": ("positive", True)},
    "round_amount": {"multiple": ("positive", True), "min_amount": ("int", False), "count": ("positive", True),
                     "window_minutes": ("positive", True)},
    "refund_abuse": {"ratio_percent": ("positive", True), "window_days": ("positive", True),
                     "min_refunds": ("positive", True)},
}


def _value_problem(value_kind: str, value: Any) -> str | None:
    if value_kind in ("int", "positive", "percent"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return "must be a whole number, not negative"
        if value_kind == "positive" and value == 0:
            return "must be above zero"
        if value_kind == "percent" and not 0 < value < 100:
            return "must be a percentage between 1 and 99"
        return None
    if value_kind == "dimension":
        return None if value in DIMENSIONS else f"must be one of {', '.join(DIMENSIONS)}"
    if value_kind == "measure":
        return None if value in MEASURES else f"must be one of {', '.join(MEASURES)}"
    if value_kind == "lists":
        ok = isinstance(value, list) and all(item in LISTS for item in value)
        return None if ok else f"must be a list of {', '.join(LISTS)}"
    ok = isinstance(value, list) and all(isinstance(item, str) and len(item) == 2 and item.isupper() for item in value)
    return None if ok else "must be a list of ISO country codes (BH, IR, …)"


def parameters_problems(kind: str, parameters: Any) -> list[str]:
    """What is wrong with ``parameters`` for a rule of ``kind`` (empty when nothing is). Sanctions
    hits are screening's: their parameters are not monitoring's to check."""
    if kind == "sanctions_hit":
        return [] if isinstance(parameters, Mapping) else ["Parameters must be an object per currency."]
    keys = PARAMETERS.get(kind)
    if keys is None:
        return [f"Unknown kind of rule {kind!r}."]
    if not isinstance(parameters, Mapping) or not parameters:
        return ["Parameters must give at least one currency: {\"BHD\": {…}}."]
    problems = []
    for currency, values in parameters.items():
        if not (isinstance(currency, str) and len(currency) == 3 and currency.isupper()):
            problems.append(f"{currency!r} is not an ISO currency code.")
            continue
        if not isinstance(values, Mapping):
            problems.append(f"{currency}: parameters must be an object.")
            continue
        for key in sorted(set(values) - set(keys)):
            problems.append(f"{currency}: {key!r} is not a parameter of {kind} (it takes {', '.join(keys)}).")
        for key, (value_kind, required) in keys.items():
            if key not in values:
                if required:
                    problems.append(f"{currency}: {key} is required.")
                continue
            problem = _value_problem(value_kind, values[key])
            if problem:
                problems.append(f"{currency}: {key} {problem}.")
    return problems
