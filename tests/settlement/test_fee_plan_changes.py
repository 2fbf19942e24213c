"""Prices and terms change through maker-checker: a treasury operator asks, a compliance supervisor
approves with a fresh code, and a row is added from a business date not settled yet (never an
edit), journaled with who, what and why. A request the fee rules refuse is refused when made, and
writes nothing. State is built inside a travel to Monday 7 April 2031, 10:00 in Bahrain: Sunday 6
April is the last closed business date, Monday 7 today's open one, Friday 11 and Saturday 12 the
weekend."""

from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine

from apps.audit.models import AuditEvent
from apps.compliance import services as compliance_services
from apps.compliance.models import ApprovalRequest
from apps.core import ids
from apps.core.actors import Actor
from apps.settlement import selectors, services
from apps.settlement.exceptions import (
    EffectiveDateRefused,
    FeeChangeInvalid,
    FeeChangeRefused,
    FeePlanUnknown,
    SettlementMerchantUnknown,
    UnknownCalendar,
)
from apps.settlement.models import FeePlan, FeePlanLine, MerchantFeePlan, SettlementTerms
from tests.factories.merchants import MerchantFactory
from tests.factories.settlement import BAHRAIN, MONDAY, SUNDAY, TUESDAY, WEDNESDAY, at
from tests.factories.staff import OFFICER, SUPERVISOR, TREASURY, staff_user, totp_code

pytestmark = pytest.mark.django_db

FRIDAY = date(2031, 4, 11)
STAFF = Actor.system("tests.settlement")


@pytest.fixture
def monday():
    with time_machine.travel(at(MONDAY, 10), tick=False) as traveller:
        yield traveller


@pytest.fixture
def acme(monday):
    return MerchantFactory(legal_name="Acme Trading W.L.L.")


@pytest.fixture
def approved(monday):
    """Request as treasury (tariq), approve as a compliance supervisor (sara) with a fresh code: the
    clock moves a TOTP step after each approval, as a code is good once."""

    maker, checker = staff_user(TREASURY, username="tariq"), staff_user(SUPERVISOR, username="sara")

    def request_and_approve(action: str, arguments: dict, reason: str = "Board decision 2031-14") -> ApprovalRequest:
        request = compliance_services.approval_request_create(action=action, arguments=arguments, user=maker,
                                                              reason=reason)
        assert request.state == ApprovalRequest.State.PENDING
        compliance_services.approval_request_approve(request_id=request.pk, user=checker,
                                                     otp_token=totp_code(checker))
        monday.shift(30)
        request.refresh_from_db()
        return request

    return request_and_approve


def _journal(action: str) -> AuditEvent:
    return AuditEvent.objects.get(action=action)


def _rows() -> tuple[int, int, int, int]:
    return (FeePlan.objects.count(), FeePlanLine.objects.count(), MerchantFeePlan.objects.count(),
            SettlementTerms.objects.count())


def _card(merchant_id, day: date) -> dict:
    return selectors.fee_schedules(merchant_ids=[merchant_id], currency="BHD", business_date=day)[merchant_id]["card"]


# --- a plan's price -------------------------------------------------------------------------------


def test_treasury_asks_for_a_new_card_price_from_tomorrow_and_it_is_added_once_a_supervisor_approves(acme):
    arguments = {"plan": "default", "method": "card", "currency": "BHD", "percent": "2.25", "fixed": 100,
                 "minimum": 200, "maximum": 5000, "effective_from": "2031-04-08"}
    maker = staff_user(TREASURY, username="tariq")
    request = compliance_services.approval_request_create(action=services.FEE_PLAN_LINE_SET, arguments=arguments,
                                                          user=maker, reason="Board decision 2031-14")

    default = FeePlan.objects.get(code="default")
    assert (request.target_type, request.target_id, request.target_label) == (
        "settlement.feeplan", str(default.pk),
        "default: card in BHD from 2031-04-08: 2.25 % + 0.100 BHD, at least 0.200 BHD, at most 5.000 BHD")
    assert FeePlanLine.objects.filter(created_by="tariq").count() == 0

    checker = staff_user(SUPERVISOR, username="sara")
    compliance_services.approval_request_approve(request_id=request.pk, user=checker, otp_token=totp_code(checker))

    request.refresh_from_db()
    assert (request.state, request.outcome) == (ApprovalRequest.State.EXECUTED, "default card BHD from 2031-04-08")
    line = FeePlanLine.objects.get(plan=default, method="card", effective_from=TUESDAY)
    assert (line.percent, line.fixed, line.minimum, line.maximum, line.created_by) == (
        Decimal("2.25"), 100, 200, 5000, "tariq, approved by sara")
    # The seeded line still prices Monday (today, open) and every day before; the new one from Tuesday.
    assert FeePlanLine.objects.filter(plan=default, method="card").count() == 2
    assert (_card(acme.pk, MONDAY).schedule.percent, _card(acme.pk, TUESDAY).schedule.percent) == (
        Decimal("2.5"), Decimal("2.25"))
    journaled = _journal("settlement.fee_plan_line_added")
    assert (journaled.object_type, journaled.object_id, journaled.actor_label, journaled.reason) == (
        "settlement.feeplanline", str(line.pk), "tariq, approved by sara", "Board decision 2031-14")
    assert journaled.before == {"plan": "default", "method": "card", "currency": "BHD", "percent": "2.500000",
                                "fixed": 100, "minimum": 250, "maximum": None, "effective_from": "2024-01-01"}
    assert journaled.after == {"plan": "default", "method": "card", "currency": "BHD", "percent": "2.25",
                               "fixed": 100, "minimum": 200, "maximum": 5000, "effective_from": "2031-04-08"}


def test_todays_open_business_date_is_the_earliest_a_price_takes_effect_from(acme, approved):
    request = approved(services.FEE_PLAN_LINE_SET, {"plan": "default", "method": "", "currency": "BHD",
                                                     "percent": "3", "effective_from": "2031-04-07"})

    assert request.state == ApprovalRequest.State.EXECUTED
    line = FeePlanLine.objects.get(method="", effective_from=MONDAY)
    assert (line.percent, line.fixed, line.minimum, line.maximum) == (Decimal(3), 0, None, None)
    # An every-method line prices no method the plan prices on its own: card keeps its own line.
    assert _card(acme.pk, MONDAY).schedule.percent == Decimal("2.5")


# --- a new plan and a merchant on it ---------------------------------------------------------------


def test_a_new_plan_priced_for_cards_and_a_merchant_put_on_it_from_tuesday(acme, approved):
    created = approved(services.FEE_PLAN_CREATE, {"code": "enterprise-2031", "name": "Enterprise 2031",
                                                   "rounding": "ROUND_HALF_UP", "refund_returns_percentage": False})
    assert created.target_label == ("New fee plan Enterprise 2031 (enterprise-2031): rounding half-up, refunds "
                                    "return no fee")
    plan = FeePlan.objects.get(code="enterprise-2031")
    assert (plan.name, plan.is_default, plan.rounding, plan.refund_returns_percentage, plan.created_by) == (
        "Enterprise 2031", False, "ROUND_HALF_UP", False, "tariq, approved by sara")
    assert _journal("settlement.fee_plan_created").after == {
        "code": "enterprise-2031", "name": "Enterprise 2031", "rounding": "ROUND_HALF_UP",
        "refund_returns_percentage": False}

    approved(services.FEE_PLAN_LINE_SET, {"plan": "enterprise-2031", "method": "card", "currency": "BHD",
                                           "percent": "1.75", "fixed": 50, "minimum": None, "maximum": None,
                                           "effective_from": "2031-04-08"})
    put_on = approved(services.MERCHANT_FEE_PLAN_SET, {"merchant_id": str(acme.pk), "plan": "enterprise-2031",
                                                        "effective_from": "2031-04-08"})

    assert (put_on.target_type, put_on.target_id, put_on.merchant_id) == ("merchants.merchant", str(acme.pk), acme.pk)
    assert put_on.target_label == (f"Acme Trading W.L.L. ({ids.encode('mer', acme.pk)}) pays enterprise-2031 from "
                                   "2031-04-08")
    assignment = MerchantFeePlan.objects.get(merchant_id=acme.pk)
    assert (assignment.plan_id, assignment.effective_from) == (plan.pk, TUESDAY)
    journaled = _journal("settlement.merchant_fee_plan_set")
    assert (journaled.object_id, journaled.merchant_id, journaled.before, journaled.after) == (
        str(assignment.pk), str(acme.pk), None, {"plan": "enterprise-2031", "effective_from": "2031-04-08"})
    # Monday at the default price; from Tuesday cards at the new plan's, the other methods at the default's.
    prices = selectors.fee_schedules(merchant_ids=[acme.pk], currency="BHD", business_date=TUESDAY)[acme.pk]
    assert (_card(acme.pk, MONDAY).plan, prices["card"].plan, prices["card"].schedule.percent,
            prices["card"].schedule.rounding, prices["wire"].plan) == (
        "default", "enterprise-2031", Decimal("1.75"), "ROUND_HALF_UP", "default")


def test_a_merchant_is_named_by_its_public_id_too_and_put_back_on_the_default_plan(acme, approved):
    MerchantFeePlan.objects.create(merchant_id=acme.pk, plan=FeePlan.objects.create(
        code="legacy", name="Legacy", created_at=datetime(2030, 1, 1, tzinfo=BAHRAIN), created_by="tests"),
        effective_from=date(2030, 1, 1), created_at=datetime(2030, 1, 1, tzinfo=BAHRAIN), created_by="tests")

    request = approved(services.MERCHANT_FEE_PLAN_SET, {"merchant_id": ids.encode("mer", acme.pk), "plan": "default",
                                                         "effective_from": "2031-04-09"})

    assert request.state == ApprovalRequest.State.EXECUTED
    assert _journal("settlement.merchant_fee_plan_set").before == {"plan": "legacy", "effective_from": "2030-01-01"}
    assert list(MerchantFeePlan.objects.filter(merchant_id=acme.pk).values_list("plan__code", "effective_from")) == [
        ("default", WEDNESDAY), ("legacy", date(2030, 1, 1))]


# --- terms -------------------------------------------------------------------------------------------


def test_every_merchants_terms_and_one_merchants_own_from_a_business_date(acme, approved):
    other = MerchantFactory()
    every = approved(services.TERMS_SET, {"merchant_id": None, "currency": "BHD", "reserve_percent": "0",
                                           "reserve_days": 0, "payout_minimum": 10_000,
                                           "effective_from": "2031-04-08"})
    own = approved(services.TERMS_SET, {"merchant_id": str(acme.pk), "currency": "BHD", "reserve_percent": "7.5",
                                         "reserve_days": 5, "payout_minimum": 2_500, "effective_from": "2031-04-09"})

    assert (every.target_type, every.target_id, every.target_label) == (
        "settlement.businesscalendar", "BHD", "BHD terms of every merchant from 2031-04-08: no reserve, payouts from "
                                              "10.000 BHD")
    assert own.target_label == (f"BHD terms of Acme Trading W.L.L. ({ids.encode('mer', acme.pk)}) from 2031-04-09: "
                                "reserve 7.5 % for 5 business days, payouts from 2.500 BHD")
    terms = {day: selectors.settlement_terms(merchant_ids=[acme.pk, other.pk], currency="BHD", business_date=day)
             for day in (MONDAY, TUESDAY, WEDNESDAY)}
    assert terms[MONDAY][acme.pk] == selectors.Terms(Decimal(0), 0, 5_000)
    assert terms[TUESDAY][acme.pk] == terms[TUESDAY][other.pk] == selectors.Terms(Decimal(0), 0, 10_000)
    assert terms[WEDNESDAY][acme.pk] == selectors.Terms(Decimal("7.5"), 5, 2_500)
    assert terms[WEDNESDAY][other.pk] == selectors.Terms(Decimal(0), 0, 10_000)
    journaled = list(AuditEvent.objects.filter(action="settlement.terms_set").order_by("id")
                     .values_list("merchant_id", "before", "after"))
    assert journaled == [
        ("", {"merchant_id": None, "currency": "BHD", "reserve_percent": "0.000000", "reserve_days": 0,
              "payout_minimum": 5000, "effective_from": "2024-01-01"},
         {"merchant_id": None, "currency": "BHD", "reserve_percent": "0", "reserve_days": 0, "payout_minimum": 10000,
          "effective_from": "2031-04-08"}),
        (str(acme.pk), None, {"merchant_id": str(acme.pk), "currency": "BHD", "reserve_percent": "7.5",
                              "reserve_days": 5, "payout_minimum": 2500, "effective_from": "2031-04-09"}),
    ]


# --- refusals -----------------------------------------------------------------------------------------

LINE = {"plan": "default", "method": "card", "currency": "BHD", "percent": "2", "fixed": 100, "minimum": None,
        "maximum": None, "effective_from": "2031-04-08"}
TERMS = {"merchant_id": None, "currency": "BHD", "reserve_percent": "10", "reserve_days": 3, "payout_minimum": 5000,
         "effective_from": "2031-04-08"}


@pytest.mark.parametrize(("action", "arguments", "refusal", "detail"), [
    (services.FEE_PLAN_LINE_SET, {**LINE, "percent": "100.5"}, FeeChangeInvalid,
     "The fee line is refused: percent must be between 0 and 100, got 100.5."),
    (services.FEE_PLAN_LINE_SET, {**LINE, "percent": "2.1234567"}, FeeChangeInvalid,
     "The fee line is refused: percent has more than 6 decimal places: 2.1234567."),
    (services.FEE_PLAN_LINE_SET, {**LINE, "percent": 2.5}, FeeChangeInvalid,
     'The percent is a decimal written as text ("2.5" is 2.5 %), not 2.5.'),
    (services.FEE_PLAN_LINE_SET, {**LINE, "percent": "two"}, FeeChangeInvalid,
     "The percent 'two' is not a decimal number."),
    (services.FEE_PLAN_LINE_SET, {**LINE, "minimum": 300, "maximum": 200}, FeeChangeInvalid,
     "The fee line is refused: minimum 300 is above maximum 200 minor units."),
    (services.FEE_PLAN_LINE_SET, {**LINE, "fixed": -1}, FeeChangeInvalid,
     "The fixed part is a whole number of minor units, 0 or more, not -1."),
    (services.FEE_PLAN_LINE_SET, {**LINE, "fixed": "100"}, FeeChangeInvalid,
     "The fixed part is a whole number of minor units, 0 or more, not '100'."),
    (services.FEE_PLAN_LINE_SET, {**LINE, "method": "crypto"}, FeeChangeInvalid,
     "The method is card, instant, wire, wallet or empty (every method), not 'crypto'."),
    (services.FEE_PLAN_LINE_SET, {**LINE, "currency": "XBT"}, FeeChangeInvalid, "'XBT' is not an ISO 4217 currency."),
    (services.FEE_PLAN_LINE_SET, {**LINE, "currency": "KWD"}, UnknownCalendar,
     "There is no business calendar for KWD."),
    (services.FEE_PLAN_LINE_SET, {**LINE, "plan": "gold"}, FeePlanUnknown, "There is no fee plan 'gold'."),
    (services.FEE_PLAN_LINE_SET, {**LINE, "effective_from": "2031-04-11"}, EffectiveDateRefused,
     "2031-04-11 is not a business date of BHD (a weekend day or a holiday): a price or term takes effect from a "
     "business date."),
    (services.FEE_PLAN_LINE_SET, {**LINE, "effective_from": "2031-04-06"}, EffectiveDateRefused,
     "BHD's business dates up to 2031-04-06 are closed, and a settled day's prices stand: choose 2031-04-07 or "
     "later."),
    (services.FEE_PLAN_LINE_SET, {**LINE, "effective_from": "08/04/2031"}, FeeChangeInvalid,
     "The date '08/04/2031' is not a date (YYYY-MM-DD)."),
    (services.FEE_PLAN_LINE_SET, {**LINE, "percent": "2.5", "minimum": 250}, FeeChangeRefused,
     "default already prices card in BHD so on 2031-04-08 (from 2024-01-01)."),
    (services.FEE_PLAN_LINE_SET, {**LINE, "discount": "10"}, FeeChangeInvalid, "Unknown argument: discount."),
    (services.FEE_PLAN_LINE_SET, {"plan": "default", "method": "card"}, FeeChangeInvalid,
     "Missing arguments: currency, effective_from, percent."),
    (services.FEE_PLAN_CREATE, {"code": "default", "name": "Again"}, FeeChangeRefused,
     "There is a fee plan 'default' already."),
    (services.FEE_PLAN_CREATE, {"code": "Enterprise 2031", "name": "Enterprise"}, FeeChangeInvalid,
     "A plan's code is 1 to 64 lower-case letters, digits, - or _ (enterprise-2027), not 'Enterprise 2031'."),
    (services.FEE_PLAN_CREATE, {"code": "e", "name": "E", "rounding": "ROUND_05UP"}, FeeChangeInvalid,
     "The rounding is one of ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_HALF_DOWN, ROUND_UP, ROUND_DOWN, ROUND_CEILING, "
     "ROUND_FLOOR, not 'ROUND_05UP'."),
    (services.FEE_PLAN_CREATE, {"code": "e", "name": " "}, FeeChangeInvalid,
     "A plan needs a name of at most 200 characters."),
    (services.MERCHANT_FEE_PLAN_SET, {"merchant_id": "mer_00000000000000000000000000", "plan": "default",
                                      "effective_from": "2031-04-08"}, SettlementMerchantUnknown,
     "There is no merchant 'mer_00000000000000000000000000'."),
    (services.MERCHANT_FEE_PLAN_SET, {"merchant_id": "ACME", "plan": "default", "effective_from": "2031-04-08"},
     FeeChangeRefused, "Acme Trading W.L.L. ({mer}) already pays default on 2031-04-08."),
    (services.TERMS_SET, {**TERMS, "reserve_days": 0}, FeeChangeInvalid,
     "A reserve is held for at least one business day."),
    (services.TERMS_SET, {**TERMS, "reserve_days": 366}, FeeChangeInvalid,
     "A reserve is held for 0 to 365 business days, not 366."),
    (services.TERMS_SET, {**TERMS, "reserve_percent": "-1"}, FeeChangeInvalid,
     "The terms are refused: reserve percent must be between 0 and 100, got -1."),
    (services.TERMS_SET, {**TERMS, "payout_minimum": -5}, FeeChangeInvalid,
     "The payout minimum is a whole number of minor units, 0 or more, not -5."),
    (services.TERMS_SET, {**TERMS, "reserve_percent": "0", "reserve_days": 0}, FeeChangeRefused,
     "These are the BHD terms in force on 2031-04-08 already (from 2024-01-01)."),
    (services.TERMS_SET, {**TERMS, "effective_from": "2031-04-12"}, EffectiveDateRefused,
     "2031-04-12 is not a business date of BHD (a weekend day or a holiday): a price or term takes effect from a "
     "business date."),
])
def test_a_request_the_rules_refuse_is_refused_when_made_and_writes_nothing(acme, action, arguments, refusal,
                                                                           detail):
    if arguments.get("merchant_id") == "ACME":
        arguments = {**arguments, "merchant_id": str(acme.pk)}
    rows, events = _rows(), AuditEvent.objects.count()

    with pytest.raises(refusal) as refused:
        compliance_services.approval_request_create(action=action, arguments=arguments,
                                                    user=staff_user(TREASURY), reason="tests")

    assert refused.value.detail == detail.format(mer=ids.encode("mer", acme.pk))
    assert (ApprovalRequest.objects.count(), _rows(), AuditEvent.objects.count()) == (0, rows, events)


def test_a_second_row_from_the_same_date_is_refused_a_change_never_edits_one(acme, approved):
    approved(services.FEE_PLAN_LINE_SET, LINE)
    rows, events = _rows(), AuditEvent.objects.count()

    with pytest.raises(FeeChangeRefused) as refused:
        compliance_services.approval_request_create(action=services.FEE_PLAN_LINE_SET, arguments={**LINE, "fixed": 0},
                                                    user=staff_user(TREASURY), reason="a typo")

    assert refused.value.detail == ("default has a card line in BHD from 2031-04-08 already: a change adds a line "
                                    "from another date.")
    assert (_rows(), AuditEvent.objects.count()) == (rows, events)


def test_a_compliance_officer_may_not_ask_for_a_price_change(acme):
    with pytest.raises(compliance_services.NotAMaker):
        compliance_services.approval_request_create(action=services.FEE_PLAN_LINE_SET, arguments=LINE,
                                                    user=staff_user(OFFICER), reason="not theirs to ask")
    assert ApprovalRequest.objects.count() == 0


def test_a_request_whose_date_closes_before_it_is_approved_fails_and_adds_nothing(acme, monday):
    maker, checker = staff_user(TREASURY), staff_user(SUPERVISOR)
    request = compliance_services.approval_request_create(action=services.FEE_PLAN_LINE_SET, arguments=LINE,
                                                          user=maker, reason="from tomorrow")
    # Tuesday's cut-off passes before the supervisor looks: Tuesday is settled at its old prices.
    monday.move_to(datetime(2031, 4, 8, 17, 30, tzinfo=BAHRAIN))
    rows = _rows()

    compliance_services.approval_request_approve(request_id=request.pk, user=checker, otp_token=totp_code(checker))

    request.refresh_from_db()
    assert (request.state, request.outcome) == (
        ApprovalRequest.State.FAILED,
        "BHD's business dates up to 2031-04-08 are closed, and a settled day's prices stand: choose 2031-04-09 or "
        "later.")
    assert _rows() == rows
    assert not AuditEvent.objects.filter(action__startswith="settlement.fee").exists()


def test_the_services_called_directly_need_a_reason_and_check_as_the_request_does(acme):
    rows = _rows()
    with pytest.raises(FeeChangeInvalid) as refused:
        services.fee_plan_line_set(**LINE, actor=STAFF, reason=" ")
    assert refused.value.detail == "A change to prices or terms needs a reason."
    with pytest.raises(EffectiveDateRefused):
        services.terms_set(**{**TERMS, "effective_from": SUNDAY}, actor=STAFF, reason="backdated")
    assert _rows() == rows

    terms = services.terms_set(**{**TERMS, "effective_from": FRIDAY.replace(day=13)}, actor=STAFF,
                               reason="risk review")
    assert (terms.reserve_percent, terms.reserve_days, terms.effective_from, terms.created_by) == (
        Decimal(10), 3, date(2031, 4, 13), "tests.settlement")
