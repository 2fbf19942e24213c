"""Prices and terms in the admin: read-only lists at a fixed number of queries with money as money,
"Replaced from" when a later row takes over, and the four "Request ..." pages, which make a
maker-checker request in minor units (and nothing else), or show the fee rules' refusal and write
nothing. State is built inside a travel to Monday 7 April 2031, 10:00 in Bahrain."""

import re
from datetime import date, datetime
from decimal import Decimal
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from apps.compliance.models import ApprovalPolicy, ApprovalRequest
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.settlement import services
from apps.settlement.models import FeePlan, FeePlanLine, MerchantFeePlan, SettlementTerms
from tests.factories.merchants import MerchantFactory
from tests.factories.staff import SUPPORT, TREASURY, signed_in_client, staff_user

pytestmark = pytest.mark.django_db

BAHRAIN = ZoneInfo("Asia/Bahrain")
STAFF = Actor.system("tests.settlement")
PLANS = reverse("admin:settlement_feeplan_changelist")
PLAN_LINES = reverse("admin:settlement_feeplanline_changelist")
MERCHANT_PLANS = reverse("admin:settlement_merchantfeeplan_changelist")
TERMS = reverse("admin:settlement_settlementterms_changelist")
REQUEST_PLAN = reverse("admin:settlement_feeplan_request_create")
REQUEST_LINE = reverse("admin:settlement_feeplanline_request_change")
REQUEST_MERCHANT_PLAN = reverse("admin:settlement_merchantfeeplan_request_change")
REQUEST_TERMS = reverse("admin:settlement_settlementterms_request_change")


@pytest.fixture
def monday():
    with time_machine.travel(datetime(2031, 4, 7, 10, 0, tzinfo=BAHRAIN), tick=False) as traveller:
        yield traveller


@pytest.fixture
def priced(monday):
    """Acme on an enterprise plan from Tuesday, a new card price from Wednesday, Acme's own terms."""
    acme = MerchantFactory(legal_name="Acme Trading W.L.L.")
    services.fee_plan_create(code="enterprise", name="Enterprise", actor=STAFF, reason="tests")
    services.fee_plan_line_set(plan="enterprise", method="card", currency="BHD", percent="1.75", fixed=50,
                               effective_from="2031-04-08", actor=STAFF, reason="tests")
    services.fee_plan_line_set(plan="default", method="card", currency="BHD", percent="2.25", fixed=100, minimum=200,
                               effective_from="2031-04-09", actor=STAFF, reason="tests")
    services.merchant_fee_plan_set(merchant_id=str(acme.pk), plan="enterprise", effective_from="2031-04-08",
                                   actor=STAFF, reason="tests")
    services.terms_set(merchant_id=str(acme.pk), currency="BHD", reserve_percent="7.5", reserve_days=5,
                       payout_minimum=2_500, effective_from="2031-04-08", actor=STAFF, reason="tests")
    services.terms_set(currency="BHD", reserve_percent="0", reserve_days=0, payout_minimum=10_000,
                       effective_from="2031-04-09", actor=STAFF, reason="tests")
    return acme


@pytest.fixture
def treasury(monday):
    return signed_in_client(staff_user(TREASURY, username="tariq"))


def _rows(response) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", response.content.decode(), re.S).group(1)
    return [[re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", cell))).strip()
             for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def _text(response) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))).strip()


# --- the lists ------------------------------------------------------------------------------------------


def test_fee_plans_list_with_their_line_counts_and_a_plans_page_lists_its_lines(priced, treasury,
                                                                               django_assert_num_queries):
    treasury.get(PLANS)
    # Session, user, device, permissions (2), two counts and the page (its line counts annotated).
    with django_assert_num_queries(8):
        listed = treasury.get(PLANS)

    assert _rows(listed) == [
        ["default", "Default", "", "half-even (banker's)", "", "5", "Jan. 1, 2024, 3 a.m."],
        ["enterprise", "Enterprise", "", "half-even (banker's)", "", "1", "April 7, 2031, 10 a.m."],
    ]
    # Default and refunds return the percentage, as icons: yes, yes; no, yes.
    assert re.findall(r'alt="(True|False)"', listed.content.decode()) == ["True", "True", "False", "True"]
    text = _text(listed)
    assert "Request a new fee plan" in text and "Request a price change" in text

    default = FeePlan.objects.get(code="default")
    page = treasury.get(reverse("admin:settlement_feeplan_change", args=[default.pk]))
    lines = [row[1:10] for row in _rows(page)]  # after each row's own name and "View" link
    assert ["card", "BHD", "2.5 %", "0.100 BHD", "0.250 BHD", "-", "Jan. 1, 2024", "2031-04-09",
            "migration settlement 0005"] in lines
    assert ["card", "BHD", "2.25 %", "0.100 BHD", "0.200 BHD", "-", "April 9, 2031", "-", "tests.settlement"] in lines
    assert f'{REQUEST_LINE}?plan=default' in page.content.decode()


def test_fee_plan_lines_show_prices_as_money_and_when_each_is_replaced(priced, treasury, django_assert_num_queries):
    treasury.get(PLAN_LINES)
    # Session, user, device, permissions (2), the plan, method and currency filters' choices, two counts,
    # the page.
    with django_assert_num_queries(11):
        response = treasury.get(PLAN_LINES, {"method__exact": "card"})

    assert _rows(response) == [
        ["default", "card in BHD", "2.25 %", "0.100 BHD", "0.200 BHD", "-", "2031-04-09", "-"],
        ["default", "card in BHD", "2.5 %", "0.100 BHD", "0.250 BHD", "-", "2024-01-01", "2031-04-09"],
        ["enterprise", "card in BHD", "1.75 %", "0.050 BHD", "-", "-", "2031-04-08", "-"],
    ]


def test_merchants_plans_and_terms_name_the_merchant_or_every_merchant(priced, treasury, django_assert_num_queries):
    treasury.get(TERMS)
    # Session, user, device, permissions (2), the currency filter's calendars, two counts, the page.
    with django_assert_num_queries(9):
        terms = treasury.get(TERMS)

    assert _rows(terms) == [
        ["Acme Trading W.L.L.", "BHD", "7.5 %", "5", "2.500 BHD", "2031-04-08", "-"],
        ["Every merchant", "BHD", "0 %", "0", "10.000 BHD", "2031-04-09", "-"],
        ["Every merchant", "BHD", "0 %", "0", "5.000 BHD", "2024-01-01", "2031-04-09"],
    ]
    assert _rows(treasury.get(MERCHANT_PLANS)) == [
        ["Acme Trading W.L.L.", "Enterprise (enterprise)", "2031-04-08", "-", "April 7, 2031, 10 a.m."]]
    assert len(treasury.get(TERMS, {"merchant": "acme"}).context["cl"].result_list) == 1


# --- the request pages -------------------------------------------------------------------------------------


def test_a_price_change_is_asked_for_in_major_units_and_requested_in_minor_units(priced, treasury):
    line = FeePlanLine.objects.get(plan__code="enterprise")
    form = treasury.get(REQUEST_LINE, {"line": line.pk})
    assert form.context["form"].initial == {
        "effective_from": date(2031, 4, 8), "currency": "BHD", "plan": "enterprise", "method": "card",
        "percent": "1.75", "fixed": "0.050", "minimum": "", "maximum": ""}

    response = treasury.post(REQUEST_LINE, {
        "plan": "enterprise", "method": "card", "currency": "BHD", "percent": "1.5", "fixed": "0.05",
        "minimum": "0.1", "maximum": "", "effective_from": "2031-04-10", "reason": "Volume discount, deal 2031-7"})

    request = ApprovalRequest.objects.get()
    assert (response.status_code, response["Location"]) == (
        302, reverse("admin:compliance_approvalrequest_change", args=[request.pk]))
    assert (request.action, request.state, request.reason) == (
        services.FEE_PLAN_LINE_SET, ApprovalRequest.State.PENDING, "Volume discount, deal 2031-7")
    assert request.arguments == {"plan": "enterprise", "method": "card", "currency": "BHD", "percent": "1.5",
                                 "fixed": 50, "minimum": 100, "maximum": None, "effective_from": "2031-04-10"}
    assert request.target_label == "enterprise: card in BHD from 2031-04-10: 1.5 % + 0.050 BHD, at least 0.100 BHD"
    assert FeePlanLine.objects.filter(plan__code="enterprise").count() == 1


@pytest.mark.parametrize(("fields", "error"), [
    ({"percent": "101"}, "The fee line is refused: percent must be between 0 and 100, got 101."),
    ({"fixed": "0.0001"}, "0.0001"),
    ({"effective_from": "2031-04-06"},
     "BHD's business dates up to 2031-04-06 are closed, and a settled day's prices stand: choose 2031-04-07 or "
     "later."),
    ({"effective_from": "2031-04-11"},
     "2031-04-11 is not a business date of BHD (a weekend day or a holiday): a price or term takes effect from a "
     "business date."),
])
def test_a_price_change_the_rules_refuse_is_shown_on_the_form_and_nothing_is_requested(priced, treasury, fields,
                                                                                      error):
    response = treasury.post(REQUEST_LINE, {
        "plan": "default", "method": "wire", "currency": "BHD", "percent": "0", "fixed": "1.500", "minimum": "",
        "maximum": "", "effective_from": "2031-04-08", "reason": "tests", **fields})

    assert response.status_code == 200
    assert error in _text(response)
    assert ApprovalRequest.objects.count() == 0


def test_a_new_plan_a_merchants_plan_and_terms_are_requested_from_their_pages(priced, treasury):
    treasury.post(REQUEST_PLAN, {"code": "gold", "name": "Gold", "rounding": "ROUND_HALF_UP",
                                 "refund_returns_percentage": "on", "reason": "New tier"})
    treasury.post(REQUEST_MERCHANT_PLAN, {"merchant": ids.encode("mer", priced.pk), "plan": "default",
                                          "effective_from": "2031-04-10", "reason": "Deal ended"})
    terms = SettlementTerms.objects.get(merchant=priced)
    form = treasury.get(REQUEST_TERMS, {"terms": terms.pk})
    assert form.context["form"].initial == {
        "effective_from": date(2031, 4, 8), "currency": "BHD", "merchant": ids.encode("mer", priced.pk),
        "reserve_percent": "7.5", "reserve_days": 5, "payout_minimum": "2.500"}
    treasury.post(REQUEST_TERMS, {"merchant": "", "currency": "BHD", "reserve_percent": "5", "reserve_days": "3",
                                  "payout_minimum": "7.5", "effective_from": "2031-04-13", "reason": "Risk review"})

    assert list(ApprovalRequest.objects.order_by("created_at", "id").values_list("action", "arguments")) == [
        (services.FEE_PLAN_CREATE, {"code": "gold", "name": "Gold", "rounding": "ROUND_HALF_UP",
                                    "refund_returns_percentage": True}),
        (services.MERCHANT_FEE_PLAN_SET, {"merchant_id": str(priced.pk), "plan": "default",
                                          "effective_from": "2031-04-10"}),
        (services.TERMS_SET, {"merchant_id": None, "currency": "BHD", "reserve_percent": "5", "reserve_days": 3,
                              "payout_minimum": 7_500, "effective_from": "2031-04-13"}),
    ]
    assert (FeePlan.objects.count(), MerchantFeePlan.objects.count(), SettlementTerms.objects.count()) == (2, 1, 3)


def test_a_merchant_named_by_something_else_than_its_id_is_refused_on_the_form(priced, treasury):
    response = treasury.post(REQUEST_MERCHANT_PLAN, {"merchant": "Acme", "plan": "default",
                                                     "effective_from": "2031-04-10", "reason": "Deal ended"})

    assert "Type the merchant's mer_ id (shown on its page)." in _text(response)
    assert ApprovalRequest.objects.count() == 0


def test_each_rows_page_links_to_its_request_page_started_from_that_row(priced, treasury):
    line = FeePlanLine.objects.get(plan__code="enterprise")
    merchant_plan = MerchantFeePlan.objects.get(merchant=priced)
    terms = SettlementTerms.objects.get(merchant=priced)
    pages = {
        reverse("admin:settlement_feeplanline_change", args=[line.pk]): f'{REQUEST_LINE}?line={line.pk}',
        reverse("admin:settlement_merchantfeeplan_change", args=[merchant_plan.pk]):
            f'{REQUEST_MERCHANT_PLAN}?merchant={ids.encode("mer", priced.pk)}',
        reverse("admin:settlement_settlementterms_change", args=[terms.pk]): f'{REQUEST_TERMS}?terms={terms.pk}',
    }
    support = signed_in_client(staff_user(SUPPORT))

    for page, link in pages.items():
        assert f'href="{link}"' in treasury.get(page).content.decode(), page
        shown_to_support = support.get(page)
        assert shown_to_support.status_code == 200
        assert "Request a" not in _text(shown_to_support), page


def test_a_request_its_policy_executes_at_once_says_so(priced, treasury):
    ApprovalPolicy.objects.create(action=services.FEE_PLAN_CREATE, requires_approval=False, updated_at=clock.now(),
                                  updated_by="tests")

    response = treasury.post(REQUEST_PLAN, {"code": "gold", "name": "Gold", "rounding": "ROUND_HALF_UP",
                                            "refund_returns_percentage": "on", "reason": "New tier"}, follow=True)

    assert ApprovalRequest.objects.get().state == ApprovalRequest.State.EXECUTED
    assert FeePlan.objects.filter(code="gold").exists()
    assert [str(message) for message in response.context["messages"]] == [
        f"Executed at once (no checker needed under the policy): {ApprovalRequest.objects.get().outcome}"]


@pytest.mark.parametrize("url", [REQUEST_PLAN, REQUEST_LINE, REQUEST_MERCHANT_PLAN, REQUEST_TERMS])
def test_support_may_not_request_a_price_change_nor_sees_the_links(priced, url):
    support = signed_in_client(staff_user(SUPPORT))

    assert support.get(url).status_code == 403
    assert support.post(url, {"reason": "no"}).status_code == 403
    assert "Request a" not in _text(support.get(PLANS))
    assert ApprovalRequest.objects.count() == 0


def test_percent_is_kept_exactly_as_typed_never_through_a_float(priced, treasury):
    treasury.post(REQUEST_LINE, {"plan": "default", "method": "wallet", "currency": "BHD", "percent": "0.333333",
                                 "fixed": "0", "minimum": "", "maximum": "", "effective_from": "2031-04-10",
                                 "reason": "tests"})

    assert Decimal(ApprovalRequest.objects.get().arguments["percent"]) == Decimal("0.333333")
