"""Changes to prices and terms: a new fee plan, a plan's price for a payment method and currency,
a merchant put on a plan, and a currency's reserve and payout minimum (for every merchant or one).
All four are maker-checker actions (registered in apps.py): a treasury operator asks, a compliance
supervisor approves, and approving calls these services as the maker, approved by the checker.

What holds, whatever is asked:

* Nothing is edited: each change adds a row that takes effect from a business date, so a business
  date already settled is always recomputed with the prices it was settled with.
* That date is a business date of the currency's calendar that is not settled yet: after its last
  closed business date (today's open business date at the earliest). A settled day's prices stand.
* Values follow the fee arithmetic's own rules (``FeeScheduleLine``, ``reserve_hold``), checked when
  the request is made (:func:`fee_change_check`, the actions' ``describe``) and again when it is
  applied, since the calendar and the plans may have moved in between.
* Each applied change is journaled in its transaction: who (the maker, approved by the checker),
  what (the row before and after) and why.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from apps.audit.services import audit_record
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.core.currencies import UnknownCurrency
from apps.core.money import Money
from apps.merchants import selectors as merchants_selectors
from apps.settlement import selectors
from apps.settlement.domain import calendar as business_calendar
from apps.settlement.domain import fees
from apps.settlement.exceptions import (
    EffectiveDateRefused,
    FeeChangeInvalid,
    FeeChangeRefused,
    FeePlanUnknown,
    SettlementMerchantUnknown,
)
from apps.settlement.models import (
    EVERY_METHOD,
    ROUNDING_CHOICES,
    FeePlan,
    FeePlanLine,
    MerchantFeePlan,
    SettlementTerms,
)

FEE_PLAN_CREATE = "settlement.fee_plan_create"
FEE_PLAN_LINE_SET = "settlement.fee_plan_line_set"
MERCHANT_FEE_PLAN_SET = "settlement.merchant_fee_plan_set"
TERMS_SET = "settlement.terms_set"

METHODS = (EVERY_METHOD, *selectors.PAYMENT_METHODS)
ROUNDINGS = {mode: label for mode, label in ROUNDING_CHOICES}
_PLAN_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Each run walks this many business dates ahead to place a reserve's release: a year is beyond any
# rolling reserve an acquirer asks for.
RESERVE_DAYS_MAX = 365
_MINOR_UNITS_MAX = 2**63 - 1  # a BigIntegerField's largest value

# Each action's arguments (as a request stores them), and which may be left out.
_ARGUMENTS = {
    FEE_PLAN_CREATE: ({"code", "name"}, {"rounding", "refund_returns_percentage"}),
    FEE_PLAN_LINE_SET: ({"plan", "method", "currency", "percent", "effective_from"}, {"fixed", "minimum", "maximum"}),
    MERCHANT_FEE_PLAN_SET: ({"merchant_id", "plan", "effective_from"}, set()),
    TERMS_SET: ({"currency", "reserve_percent", "reserve_days", "payout_minimum", "effective_from"}, {"merchant_id"}),
}


@dataclass(frozen=True, slots=True)
class FeeChange:
    """A checked request to change prices or terms: what it acts on, as staff and the journal read it."""

    object_type: str
    object_id: str
    label: str
    merchant_id: str | None = None


# --- reading and checking the values ---------------------------------------------------------------


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as invalid:
        raise FeeChangeInvalid(f"The date {value!r} is not a date (YYYY-MM-DD).") from invalid


def _as_percent(value: Any, what: str) -> Decimal:
    # A float never touches a rate: 0.1 + 0.2 is not 0.3 in binary.
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise FeeChangeInvalid(f"The {what} is a decimal written as text (\"2.5\" is 2.5 %), not {value!r}.")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as invalid:
        raise FeeChangeInvalid(f"The {what} {value!r} is not a decimal number.") from invalid


def _as_minor(value: Any, what: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MINOR_UNITS_MAX:
        raise FeeChangeInvalid(f"The {what} is a whole number of minor units, 0 or more, not {value!r}.")
    return value


def _plan(code: Any) -> FeePlan:
    plan = FeePlan.objects.filter(code=str(code or "")).first()
    if plan is None:
        raise FeePlanUnknown(f"There is no fee plan {code!r}.")
    return plan


def _merchant(merchant_id: Any) -> Any:
    text = str(merchant_id or "").strip()
    found = merchants_selectors.merchant_get(ids.decode("mer", text) or text) if text else None
    if found is None:
        raise SettlementMerchantUnknown(f"There is no merchant {merchant_id!r}.")
    return found


def _merchant_label(merchant: Any) -> str:
    return f"{merchant.legal_name} ({ids.encode('mer', merchant.pk)})"


def _not_settled(currency: str, value: Any) -> date:
    """``value`` as a business date of ``currency`` that no run has settled, nor can have: after
    the last closed business date. Raises UnknownCalendar, FeeChangeInvalid, EffectiveDateRefused."""
    day = _as_date(value)
    calendar = selectors.calendar_get(currency)
    today = business_calendar.business_date(calendar, clock.now())
    if not business_calendar.is_business_day(calendar, day):
        raise EffectiveDateRefused(f"{day:%Y-%m-%d} is not a business date of {currency} (a weekend day or a "
                                   "holiday): a price or term takes effect from a business date.")
    if day < today:
        closed = business_calendar.previous_business_date(calendar, today)
        raise EffectiveDateRefused(f"{currency}'s business dates up to {closed:%Y-%m-%d} are closed, and a settled "
                                   f"day's prices stand: choose {today:%Y-%m-%d} or later.")
    return day


def _schedule(*, currency: str, percent: Decimal, fixed: int, minimum: int | None, maximum: int | None,
              plan: FeePlan) -> fees.FeeScheduleLine:
    """The line as the fee arithmetic prices with it, or why it would refuse it."""
    try:
        return fees.FeeScheduleLine(currency=currency, percent=percent, fixed=fixed, minimum=minimum,
                                    maximum=maximum, rounding=plan.rounding,
                                    refund_returns_percentage=plan.refund_returns_percentage)
    except fees.InvalidFeeSchedule as refused:
        raise FeeChangeInvalid(f"The fee line is refused: {refused}.") from refused
    except UnknownCurrency as unknown:
        raise FeeChangeInvalid(f"{currency!r} is not an ISO 4217 currency.") from unknown


def _percent_text(percent: Decimal) -> str:
    return f"{percent.normalize():f} %"


def _price_text(line: fees.FeeScheduleLine) -> str:
    """``2.5 % + 0.100 BHD, at least 0.250 BHD``: a fee line as staff read it."""
    text = _percent_text(line.percent)
    if line.fixed:
        text += f" + {Money(line.fixed, line.currency).format()}"
    if line.minimum is not None:
        text += f", at least {Money(line.minimum, line.currency).format()}"
    if line.maximum is not None:
        text += f", at most {Money(line.maximum, line.currency).format()}"
    return text


def _arguments_checked(action: str, arguments: Mapping[str, Any]) -> None:
    """A request carries exactly the service's arguments: approving it calls the service with them."""
    required, optional = _ARGUMENTS[action]
    unknown = set(arguments) - required - optional
    if unknown:
        raise FeeChangeInvalid(f"Unknown argument{'s' if len(unknown) > 1 else ''}: {', '.join(sorted(unknown))}.")
    missing = required - set(arguments)
    if missing:
        raise FeeChangeInvalid(f"Missing argument{'s' if len(missing) > 1 else ''}: {', '.join(sorted(missing))}.")


# --- the four changes, checked -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _NewPlan:
    code: str
    name: str
    rounding: str
    refund_returns_percentage: bool


def _new_plan(*, code: Any, name: Any, rounding: Any = "ROUND_HALF_EVEN",
              refund_returns_percentage: Any = True) -> _NewPlan:
    code, name = str(code or "").strip(), str(name or "").strip()
    if not _PLAN_CODE.match(code):
        raise FeeChangeInvalid(f"A plan's code is 1 to 64 lower-case letters, digits, - or _ (enterprise-2027), "
                               f"not {code!r}.")
    if not name or len(name) > 200:
        raise FeeChangeInvalid("A plan needs a name of at most 200 characters.")
    if rounding not in ROUNDINGS:
        raise FeeChangeInvalid(f"The rounding is one of {', '.join(ROUNDINGS)}, not {rounding!r}.")
    if not isinstance(refund_returns_percentage, bool):
        raise FeeChangeInvalid("Whether refunds return the percentage part is true or false.")
    if FeePlan.objects.filter(code=code).exists():
        raise FeeChangeRefused(f"There is a fee plan {code!r} already.")
    return _NewPlan(code, name, rounding, refund_returns_percentage)


@dataclass(frozen=True, slots=True)
class _NewLine:
    plan: FeePlan
    method: str
    schedule: fees.FeeScheduleLine
    effective_from: date
    replaces: FeePlanLine | None  # the line of the plan, method and currency in force before it

    @property
    def label(self) -> str:
        return (f"{self.plan.code}: {self.method or 'every method'} in {self.schedule.currency} from "
                f"{self.effective_from:%Y-%m-%d}: {_price_text(self.schedule)}")


def _new_line(*, plan: Any, method: Any, currency: Any, percent: Any, effective_from: Any, fixed: Any = 0,
              minimum: Any = None, maximum: Any = None) -> _NewLine:
    found = _plan(plan)
    method, currency = str(method or ""), str(currency or "").strip().upper()
    if method not in METHODS:
        raise FeeChangeInvalid(f"The method is card, instant, wire, wallet or empty (every method), not {method!r}.")
    schedule = _schedule(currency=currency, percent=_as_percent(percent, "percent"),
                         fixed=_as_minor(fixed, "fixed part"), minimum=_as_minor(minimum, "minimum", optional=True),
                         maximum=_as_minor(maximum, "maximum", optional=True), plan=found)
    day = _not_settled(schedule.currency, effective_from)
    lines = FeePlanLine.objects.filter(plan=found, method=method, currency=schedule.currency)
    if lines.filter(effective_from=day).exists():
        raise FeeChangeRefused(f"{found.code} has a {method or 'every method'} line in {schedule.currency} from "
                               f"{day:%Y-%m-%d} already: a change adds a line from another date.")
    replaces = lines.filter(effective_from__lt=day).order_by("-effective_from").first()
    if replaces is not None and (replaces.percent, replaces.fixed, replaces.minimum, replaces.maximum) == (
            schedule.percent, schedule.fixed, schedule.minimum, schedule.maximum):
        raise FeeChangeRefused(f"{found.code} already prices {method or 'every method'} in {schedule.currency} so on "
                               f"{day:%Y-%m-%d} (from {replaces.effective_from:%Y-%m-%d}).")
    return _NewLine(found, method, schedule, day, replaces)


@dataclass(frozen=True, slots=True)
class _NewAssignment:
    merchant: Any
    plan: FeePlan
    effective_from: date
    replaces: MerchantFeePlan | None

    @property
    def label(self) -> str:
        return f"{_merchant_label(self.merchant)} pays {self.plan.code} from {self.effective_from:%Y-%m-%d}"


def _new_assignment(*, merchant_id: Any, plan: Any, effective_from: Any) -> _NewAssignment:
    merchant, found = _merchant(merchant_id), _plan(plan)
    # A merchant's plan prices every currency it settles in: the date must be open in each.
    calendars = selectors.calendar_currencies()
    currencies = [currency for currency in merchant.currencies if currency in calendars] or calendars
    days = {_not_settled(currency, effective_from) for currency in currencies}
    day = days.pop() if days else _as_date(effective_from)
    assignments = MerchantFeePlan.objects.filter(merchant_id=merchant.pk)
    if assignments.filter(effective_from=day).exists():
        raise FeeChangeRefused(f"{_merchant_label(merchant)} has a plan from {day:%Y-%m-%d} already: a change adds "
                               "one from another date.")
    replaces = assignments.filter(effective_from__lt=day).select_related("plan").order_by("-effective_from").first()
    paying = replaces.plan if replaces is not None else FeePlan.objects.filter(is_default=True).first()
    if paying is not None and paying.pk == found.pk:
        raise FeeChangeRefused(f"{_merchant_label(merchant)} already pays {found.code} on {day:%Y-%m-%d}.")
    return _NewAssignment(merchant, found, day, replaces)


@dataclass(frozen=True, slots=True)
class _NewTerms:
    merchant: Any | None
    currency: str
    reserve_percent: Decimal
    reserve_days: int
    payout_minimum: int
    effective_from: date
    replaces: SettlementTerms | None

    @property
    def label(self) -> str:
        whose = _merchant_label(self.merchant) if self.merchant is not None else "every merchant"
        reserve = (f"reserve {_percent_text(self.reserve_percent)} for {self.reserve_days} business "
                   f"day{'s' if self.reserve_days != 1 else ''}" if self.reserve_percent else "no reserve")
        minimum = Money(self.payout_minimum, self.currency).format()
        return (f"{self.currency} terms of {whose} from {self.effective_from:%Y-%m-%d}: {reserve}, "
                f"payouts from {minimum}")


def _new_terms(*, currency: Any, reserve_percent: Any, reserve_days: Any, payout_minimum: Any,
               effective_from: Any, merchant_id: Any = None) -> _NewTerms:
    merchant = _merchant(merchant_id) if merchant_id not in (None, "") else None
    currency, percent = str(currency or "").strip().upper(), _as_percent(reserve_percent, "reserve percent")
    try:
        fees.reserve_hold(Money(0, currency), percent)
    except fees.InvalidFeeSchedule as refused:
        raise FeeChangeInvalid(f"The terms are refused: {refused}.") from refused
    except UnknownCurrency as unknown:
        raise FeeChangeInvalid(f"{currency!r} is not an ISO 4217 currency.") from unknown
    if isinstance(reserve_days, bool) or not isinstance(reserve_days, int) or not 0 <= reserve_days <= RESERVE_DAYS_MAX:
        raise FeeChangeInvalid(f"A reserve is held for 0 to {RESERVE_DAYS_MAX} business days, not {reserve_days!r}.")
    if percent and not reserve_days:
        raise FeeChangeInvalid("A reserve is held for at least one business day.")
    minimum = _as_minor(payout_minimum, "payout minimum")
    day = _not_settled(currency, effective_from)
    terms = SettlementTerms.objects.filter(merchant=merchant, currency=currency)
    if terms.filter(effective_from=day).exists():
        raise FeeChangeRefused(f"{currency} terms of {_merchant_label(merchant) if merchant else 'every merchant'} "
                               f"from {day:%Y-%m-%d} exist already: a change adds terms from another date.")
    replaces = terms.filter(effective_from__lt=day).order_by("-effective_from").first()
    days = reserve_days if percent else 0
    if replaces is not None and (replaces.reserve_percent, replaces.reserve_days, replaces.payout_minimum) == (
            percent, days, minimum):
        raise FeeChangeRefused(f"These are the {currency} terms in force on {day:%Y-%m-%d} already (from "
                               f"{replaces.effective_from:%Y-%m-%d}).")
    return _NewTerms(merchant, currency, percent, days, minimum, day, replaces)


def fee_change_check(action: str, arguments: Mapping[str, Any]) -> FeeChange:
    """What a request to change prices or terms would do, or why it may not: the values the fee
    rules accept, the plan and merchant existing, the date a business date not settled yet, no row
    from that date already and a real change. Raises FeeChangeInvalid, FeeChangeRefused,
    EffectiveDateRefused, FeePlanUnknown, SettlementMerchantUnknown, UnknownCalendar. Writes nothing."""
    if action not in _ARGUMENTS:
        raise FeeChangeInvalid(f"{action!r} is no change of prices or terms.")
    _arguments_checked(action, arguments)
    if action == FEE_PLAN_CREATE:
        plan = _new_plan(**arguments)
        returns = "refunds return the percentage part" if plan.refund_returns_percentage else "refunds return no fee"
        return FeeChange("settlement.feeplan", plan.code,
                         f"New fee plan {plan.name} ({plan.code}): rounding {ROUNDINGS[plan.rounding]}, {returns}")
    if action == FEE_PLAN_LINE_SET:
        line = _new_line(**arguments)
        return FeeChange("settlement.feeplan", str(line.plan.pk), line.label)
    if action == MERCHANT_FEE_PLAN_SET:
        assignment = _new_assignment(**arguments)
        return FeeChange("merchants.merchant", str(assignment.merchant.pk), assignment.label,
                         str(assignment.merchant.pk))
    terms = _new_terms(**arguments)
    if terms.merchant is not None:
        return FeeChange("merchants.merchant", str(terms.merchant.pk), terms.label, str(terms.merchant.pk))
    return FeeChange("settlement.businesscalendar", terms.currency, terms.label)


# --- applying them ------------------------------------------------------------------------------------


def _reason_said(reason: str) -> None:
    if not reason.strip():
        raise FeeChangeInvalid("A change to prices or terms needs a reason.")


def _inserted(row: Any, refusal: str) -> None:
    """Insert ``row``; a concurrent change that took its place first is a refusal, not an error."""
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError as taken:
        raise FeeChangeRefused(refusal) from taken


def _line_state(line: FeePlanLine) -> dict[str, Any]:
    return {"plan": line.plan.code, "method": line.method, "currency": line.currency, "percent": str(line.percent),
            "fixed": line.fixed, "minimum": line.minimum, "maximum": line.maximum,
            "effective_from": line.effective_from.isoformat()}


def _terms_state(terms: SettlementTerms) -> dict[str, Any]:
    return {"merchant_id": str(terms.merchant_id) if terms.merchant_id else None, "currency": terms.currency,
            "reserve_percent": str(terms.reserve_percent), "reserve_days": terms.reserve_days,
            "payout_minimum": terms.payout_minimum, "effective_from": terms.effective_from.isoformat()}


def fee_plan_create(*, code: str, name: str, rounding: str = "ROUND_HALF_EVEN", refund_returns_percentage: bool = True,
                    actor: Actor, reason: str) -> FeePlan:
    """Make a fee plan (never the default: there is one, seeded), with no prices yet: its lines are
    added by :func:`fee_plan_line_set`, and a method it does not price is priced by the default plan.

    Invariant: plan codes are unique (a database constraint). Raises FeeChangeInvalid (a code that is
    no slug, no name, an unknown rounding mode, no reason), FeeChangeRefused (the code is taken).
    Nothing is written then.
    """
    _reason_said(reason)
    with transaction.atomic():
        checked = _new_plan(code=code, name=name, rounding=rounding,
                            refund_returns_percentage=refund_returns_percentage)
        plan = FeePlan(code=checked.code, name=checked.name, rounding=checked.rounding,
                       refund_returns_percentage=checked.refund_returns_percentage, created_at=clock.now(),
                       created_by=actor.label)
        _inserted(plan, f"There is a fee plan {checked.code!r} already.")
        audit_record(actor=actor, action="settlement.fee_plan_created", object_type="settlement.feeplan",
                     object_id=str(plan.pk), reason=reason,
                     after={"code": plan.code, "name": plan.name, "rounding": plan.rounding,
                            "refund_returns_percentage": plan.refund_returns_percentage})
    return plan


def fee_plan_line_set(*, plan: str, method: str, currency: str, percent: str, effective_from: Any, fixed: int = 0,
                      minimum: int | None = None, maximum: int | None = None, actor: Actor, reason: str) -> FeePlanLine:
    """Price ``method`` (empty: every method the plan prices no other way) in ``currency`` under the
    plan ``plan`` from business date ``effective_from`` on: ``percent`` of each payment (a decimal
    string, "2.5" is 2.5 %) plus ``fixed`` minor units, clamped to ``minimum`` and ``maximum``.

    Invariants: a line is added, never edited; its date is a business date not settled yet; one line
    per plan, method, currency and date (a database constraint). Raises FeePlanUnknown,
    UnknownCalendar, FeeChangeInvalid (what FeeScheduleLine refuses: a percent outside 0-100 or with
    more than six decimals, negative or fractional minor units, a minimum above the maximum; an
    unknown method; no reason), EffectiveDateRefused (not a business date, or settled already),
    FeeChangeRefused (a line from that date exists, or it prices as the line in force). Nothing is
    written then.
    """
    _reason_said(reason)
    with transaction.atomic():
        checked = _new_line(plan=plan, method=method, currency=currency, percent=percent,
                            effective_from=effective_from, fixed=fixed, minimum=minimum, maximum=maximum)
        schedule = checked.schedule
        line = FeePlanLine(plan=checked.plan, method=checked.method, currency=schedule.currency,
                           percent=schedule.percent, fixed=schedule.fixed, minimum=schedule.minimum,
                           maximum=schedule.maximum, effective_from=checked.effective_from, created_at=clock.now(),
                           created_by=actor.label)
        _inserted(line, f"{checked.label}: a line from that date exists already.")
        audit_record(actor=actor, action="settlement.fee_plan_line_added", object_type="settlement.feeplanline",
                     object_id=str(line.pk), reason=reason, after=_line_state(line),
                     before=_line_state(checked.replaces) if checked.replaces else None)
    return line


def merchant_fee_plan_set(*, merchant_id: str, plan: str, effective_from: Any, actor: Actor,
                          reason: str) -> MerchantFeePlan:
    """Put the merchant on the plan ``plan`` from business date ``effective_from`` on (the default
    plan's code puts it back on the default prices).

    Invariants: a row is added, never edited; the date is a business date not settled yet in each
    currency the merchant settles in; one plan per merchant and date (a database constraint).
    Raises SettlementMerchantUnknown, FeePlanUnknown, UnknownCalendar, FeeChangeInvalid (no reason),
    EffectiveDateRefused, FeeChangeRefused (a plan from that date exists, or it pays that plan
    then already). Nothing is written then.
    """
    _reason_said(reason)
    with transaction.atomic():
        checked = _new_assignment(merchant_id=merchant_id, plan=plan, effective_from=effective_from)
        assignment = MerchantFeePlan(merchant_id=checked.merchant.pk, plan=checked.plan,
                                     effective_from=checked.effective_from, created_at=clock.now(),
                                     created_by=actor.label)
        _inserted(assignment, f"{checked.label}: a plan from that date exists already.")
        before = ({"plan": checked.replaces.plan.code, "effective_from": checked.replaces.effective_from.isoformat()}
                  if checked.replaces else None)
        audit_record(actor=actor, action="settlement.merchant_fee_plan_set", object_type="settlement.merchantfeeplan",
                     object_id=str(assignment.pk), reason=reason, merchant_id=str(checked.merchant.pk), before=before,
                     after={"plan": checked.plan.code, "effective_from": checked.effective_from.isoformat()})
    return assignment


def terms_set(*, currency: str, reserve_percent: str, reserve_days: int, payout_minimum: int, effective_from: Any,
              merchant_id: str | None = None, actor: Actor, reason: str) -> SettlementTerms:
    """Set ``currency``'s rolling reserve (``reserve_percent`` of each business date's positive net,
    a decimal string, held ``reserve_days`` business days) and payout minimum (minor units) from
    business date ``effective_from`` on, for the merchant ``merchant_id`` or, without one, for every
    merchant without terms of its own.

    Invariants: terms are added, never edited; the date is a business date not settled yet; one
    row per merchant (or every merchant), currency and date (a database constraint); a reserve is
    held at least a business day. Raises SettlementMerchantUnknown, UnknownCalendar,
    FeeChangeInvalid (a percent outside 0-100 or with more than six decimals, a reserve without
    days or held over RESERVE_DAYS_MAX, a negative minimum, no reason), EffectiveDateRefused,
    FeeChangeRefused (terms from that date exist, or these are the terms in force). Nothing is
    written then.
    """
    _reason_said(reason)
    with transaction.atomic():
        checked = _new_terms(currency=currency, reserve_percent=reserve_percent, reserve_days=reserve_days,
                             payout_minimum=payout_minimum, effective_from=effective_from, merchant_id=merchant_id)
        terms = SettlementTerms(merchant_id=checked.merchant.pk if checked.merchant else None,
                                currency=checked.currency, reserve_percent=checked.reserve_percent,
                                reserve_days=checked.reserve_days, payout_minimum=checked.payout_minimum,
                                effective_from=checked.effective_from, created_at=clock.now(), created_by=actor.label)
        _inserted(terms, f"{checked.label}: terms from that date exist already.")
        audit_record(actor=actor, action="settlement.terms_set", object_type="settlement.settlementterms",
                     object_id=str(terms.pk), reason=reason,
                     merchant_id=str(checked.merchant.pk) if checked.merchant else None,
                     before=_terms_state(checked.replaces) if checked.replaces else None, after=_terms_state(terms))
    return terms

