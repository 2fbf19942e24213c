"""The matching rules' catalogue: which fields a rule may compare, with which operators, and what
each means. Plain Python (no Django): the engine compiles a rule to SQL from here
(:func:`rule_sql`); the fuzzy name score, which SQL does not compute, is :func:`name_score`.

A rule compares a *line side* (one statement line, or for many-to-one several lines sharing a
reference or end-to-end id, summed) with an *expectation side* (one expectation, or for
one-to-many a group of expectations sharing a group key, summed). Every criterion must hold:

- ``reference`` ``exact``: the line's reference equals the expectation's (trimmed, case
  ignored); ``contains``: the line's reference or description contains the expectation's
  reference (case ignored). An expectation without a reference never matches by reference. For a
  group of expectations, the reference is its group key.
- ``amount`` ``exact``: equal; ``tolerance_minor`` (value: minor units ≥ 0): within that many
  minor units; ``tolerance_percent`` (value: a decimal 0-100, as a string or number): within
  that percentage of the expectation's amount. An expectation's own ``amount_tolerance`` also
  applies: the wider of the two wins. The expectation's amount is what is still open of it
  (amount - reconciled).
- ``date`` ``window_days`` (value: 0-366): the line's booking date within that many days either
  side of the expected date, or within the expectation's own ``date_tolerance_days`` if that is
  wider. For a group, every expectation's date.
- ``counterparty_name`` ``fuzzy`` (value: 0-100): rapidfuzz's token sort ratio of the two names,
  normalised as sanctions screening normalises names (accents, case, punctuation, legal forms
  such as W.L.L. or B.S.C. dropped), at least the value. A blank name never matches.
- ``end_to_end_id`` ``exact``: equal (trimmed), never blank.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rapidfuzz import fuzz

from apps.compliance.sanctions.matching import name_normalise
from apps.reconciliation.matching.errors import MatchingRuleInvalid

FIELDS: dict[str, tuple[str, ...]] = {
    "reference": ("exact", "contains"),
    "amount": ("exact", "tolerance_minor", "tolerance_percent"),
    "date": ("window_days",),
    "counterparty_name": ("fuzzy",),
    "end_to_end_id": ("exact",),
}
CARDINALITIES = ("one_to_one", "one_to_many", "many_to_one")
MAX_CRITERIA = 5
MAX_WINDOW_DAYS = 366


@dataclass(frozen=True, slots=True)
class Criterion:
    field: str
    op: str
    value: Any = None  # int for tolerance_minor, window_days and fuzzy; Decimal for tolerance_percent

    def as_json(self) -> dict[str, Any]:
        value = str(self.value) if isinstance(self.value, Decimal) else self.value
        return {"field": self.field, "op": self.op, **({"value": value} if value is not None else {})}

    def label(self) -> str:
        shown = {
            ("reference", "exact"): "reference exact", ("reference", "contains"): "reference contained",
            ("amount", "exact"): "amount exact", ("end_to_end_id", "exact"): "end-to-end id exact",
        }.get((self.field, self.op))
        if shown:
            return shown
        if self.op == "tolerance_minor":
            return f"amount ± {self.value} minor units"
        if self.op == "tolerance_percent":
            return f"amount ± {self.value} %"
        if self.op == "window_days":
            return f"date ± {self.value} days"
        return f"counterparty name ≥ {self.value}"


def _integer(value: Any, low: int, high: int | None, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"{low}-{high}" if high is not None else f"≥ {low}"
        raise MatchingRuleInvalid(f"{what} must be a whole number {bound}, not {value!r}.")
    return value


def criterion_parse(raw: Any) -> Criterion:
    if not isinstance(raw, Mapping):
        raise MatchingRuleInvalid(f"A criterion is an object with field, op and value, not {raw!r}.")
    field, op, value = raw.get("field"), raw.get("op"), raw.get("value")
    if field not in FIELDS:
        raise MatchingRuleInvalid(f"Unknown field {field!r}: one of {', '.join(FIELDS)}.")
    if op not in FIELDS[field]:
        raise MatchingRuleInvalid(f"Field {field} has no operator {op!r}: one of {', '.join(FIELDS[field])}.")
    unknown = set(raw) - {"field", "op", "value"}
    if unknown:
        raise MatchingRuleInvalid(f"A criterion has field, op and value only, not {', '.join(sorted(unknown))}.")
    if op == "tolerance_minor":
        return Criterion(field, op, _integer(value, 0, None, "An amount tolerance in minor units"))
    if op == "tolerance_percent":
        if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
            raise MatchingRuleInvalid(f"A percentage tolerance is a decimal 0-100 (as a string), not {value!r}.")
        try:
            percent = Decimal(str(value))
        except InvalidOperation:
            raise MatchingRuleInvalid(f"A percentage tolerance is a decimal 0-100, not {value!r}.") from None
        if not percent.is_finite() or not 0 <= percent <= 100 or percent.as_tuple().exponent < -4:  # type: ignore[operator]
            raise MatchingRuleInvalid(
                f"A percentage tolerance is a decimal 0-100 with at most 4 places, not {value!r}.")
        return Criterion(field, op, percent)
    if op == "window_days":
        return Criterion(field, op, _integer(value, 0, MAX_WINDOW_DAYS, "A date window in days"))
    if op == "fuzzy":
        return Criterion(field, op, _integer(value, 0, 100, "A name score"))
    if value is not None:
        raise MatchingRuleInvalid(f"{field} {op} takes no value.")
    return Criterion(field, op)


def criteria_parse(raw: Any, *, cardinality: str = "one_to_one") -> tuple[Criterion, ...]:
    """A rule's criteria (its JSON) checked: one to five, known fields and operators, values of the
    right type, each field at most once, and what the cardinality needs (one-to-many compares the
    group key with a reference criterion; many-to-one groups lines by reference or end-to-end id,
    so needs one of those exact). Raises MatchingRuleInvalid."""
    if cardinality not in CARDINALITIES:
        raise MatchingRuleInvalid(f"Unknown cardinality {cardinality!r}: one of {', '.join(CARDINALITIES)}.")
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes) or not 1 <= len(raw) <= MAX_CRITERIA:
        raise MatchingRuleInvalid(f"A rule has 1 to {MAX_CRITERIA} criteria (a list), not {raw!r}.")
    criteria = tuple(criterion_parse(item) for item in raw)
    fields = [criterion.field for criterion in criteria]
    if len(set(fields)) != len(fields):
        raise MatchingRuleInvalid("Each field appears in a rule's criteria once at most.")
    if cardinality == "one_to_many" and "reference" not in fields:
        raise MatchingRuleInvalid("A one-to-many rule compares the line with the group key: it needs a reference "
                                  "criterion.")
    if cardinality == "many_to_one" and line_group_field(criteria) is None:
        raise MatchingRuleInvalid("A many-to-one rule groups lines by reference or end-to-end id: it needs "
                                  "reference exact or end-to-end id exact.")
    return criteria


def line_group_field(criteria: Sequence[Criterion]) -> str | None:
    """What a many-to-one rule groups lines by: their reference or their end-to-end id."""
    for criterion in criteria:
        if criterion.op == "exact" and criterion.field in ("reference", "end_to_end_id"):
            return criterion.field
    return None


def criteria_label(criteria: Sequence[Criterion]) -> str:
    return ", ".join(criterion.label() for criterion in criteria)


# --- the fuzzy name score (in Python) ------------------------------------------------------------

def name_score(left: str, right: str) -> float:
    """0-100: how alike two counterparty names are; 0 when either is blank."""
    a, b = name_normalise(left or ""), name_normalise(right or "")
    if not a or not b:
        return 0.0
    return fuzz.token_sort_ratio(a, b)


# --- in SQL ----------------------------------------------------------------------------------------
# The engine's working tables name the same columns on both sides: ``l`` (a line or a group of
# lines) has amount, booking_date, ref (upper, trimmed), haystack (upper reference and
# description), e2e, cp; ``e`` (an expectation or a group) has amount (open), date_lo, date_hi,
# tol_days, amt_tol, ref, e2e, cp, currency. Both have currency.


@dataclass(frozen=True, slots=True)
class RuleSql:
    join: str  # equality conditions, for a hash join
    where: str  # the rest, with %s placeholders
    params: tuple[Any, ...]
    fuzzy: int | None  # the name score to check in Python on the candidates, if any


def rule_sql(criteria: Sequence[Criterion], *, max_amount_tolerance: int, max_date_tolerance: int) -> RuleSql:
    """The rule's criteria as SQL conditions on ``l`` and ``e``: equalities first (the join), then
    the rest; ranges carry a bound that does not depend on ``e`` (with the largest tolerance any
    open expectation has) so PostgreSQL can use an index or a merge on them."""
    join = ["e.currency = l.currency", "(e.amount > 0) = (l.amount > 0)"]
    where: list[str] = []
    params: list[Any] = []
    fuzzy = None
    for criterion in criteria:
        field, op, value = criterion.field, criterion.op, criterion.value
        if field == "reference" and op == "exact":
            join.append("e.ref = l.ref")
            where.append("e.ref <> ''")
        elif field == "reference":
            where.append("e.ref <> '' AND strpos(l.haystack, e.ref) > 0")
        elif field == "end_to_end_id":
            join.append("e.e2e = l.e2e")
            where.append("e.e2e <> ''")
        elif field == "amount" and op == "exact":
            if max_amount_tolerance == 0:
                join.append("e.amount = l.amount")
            else:
                where.append("abs(l.amount - e.amount) <= e.amt_tol")
                where.append("e.amount BETWEEN l.amount - %s AND l.amount + %s")
                params += [max_amount_tolerance, max_amount_tolerance]
        elif field == "amount" and op == "tolerance_minor":
            where.append("abs(l.amount - e.amount) <= greatest(%s, e.amt_tol)")
            bound = max(value, max_amount_tolerance)
            where.append("e.amount BETWEEN l.amount - %s AND l.amount + %s")
            params += [value, bound, bound]
        elif field == "amount":
            where.append("abs(l.amount - e.amount) * 100 <= greatest(abs(e.amount) * %s, e.amt_tol * 100)")
            params.append(value)
            if value < 100:
                # |l - e| ≤ |e|·p + T and |e| ≤ |l| + |l - e| give |l - e| ≤ (|l|·p + T) / (1 - p).
                where.append("abs(e.amount - l.amount) <= (abs(l.amount) * %s + %s) / (1 - %s) + 1")
                params += [value / 100, max_amount_tolerance, value / 100]
        elif field == "date":
            where.append("l.booking_date BETWEEN e.date_hi - greatest(%s, e.tol_days) "
                         "AND e.date_lo + greatest(%s, e.tol_days)")
            window = max(value, max_date_tolerance)
            where.append("e.date_lo BETWEEN l.booking_date - %s AND l.booking_date + %s")
            params += [value, value, window, window]
        else:
            where.append("l.cp <> '' AND e.cp <> ''")
            fuzzy = value
    return RuleSql(" AND ".join(join), " AND ".join(where) or "true", tuple(params), fuzzy)
