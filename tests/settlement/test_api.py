"""The merchant's settlement API: settlement lines (list, detail, filters, pages, isolation), each
line's CSV report (exact for a small BHD day, adding up to the line on a larger one, streamed from a
server-side cursor), the balance after a run, and the fee plan. State is built inside a travel to
April 2031 (Sunday 6 to Thursday 10 are business dates), as in test_runs."""

import csv
import io
import random
from datetime import date, time, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import ids
from apps.merchants.models import ApiKey
from apps.settlement import services
from apps.settlement.models import (
    BusinessCalendar,
    FeePlan,
    FeePlanLine,
    MerchantFeePlan,
    SettlementLine,
    SettlementRun,
    SettlementTerms,
)
from tests.core.api.assertions import assert_problem
from tests.factories.merchants import MerchantFactory, api_key_issue, authenticated_client
from tests.factories.settlement import ACTOR, MONDAY, SUNDAY, TUESDAY, WEDNESDAY, at, captured, refunded, settle

pytestmark = pytest.mark.django_db
SETTLEMENTS = "/api/v1/settlements"


def utc(day: date, hour: int, minute: int = 0) -> str:
    """The ISO instant a report writes for ``at(day, hour, minute)`` (reports are in UTC)."""
    return (at(day, hour, minute) - timedelta(hours=3)).replace(tzinfo=None).isoformat() + "+00:00"


@pytest.fixture
def travel():
    with time_machine.travel(at(MONDAY, 9), tick=False) as traveller:
        yield traveller


def merchant_and_client(*, mode: str = ApiKey.Mode.LIVE, **fields):
    merchant = MerchantFactory(**fields)
    return merchant, authenticated_client(api_key_issue(merchant, mode=mode))


def public_id(line: SettlementLine) -> str:
    return ids.encode("stl", line.pk)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def report_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# --- a small BHD day, exactly ---------------------------------------------------------------------


@pytest.fixture
def small_day(travel):
    """A merchant's Monday: four card, instant and wallet payments (one fee clamped to its minimum,
    one rounded half-even), a partial refund, a 10 % reserve for two business dates; settled."""
    acme, client = merchant_and_client()
    SettlementTerms.objects.create(merchant=acme, currency="BHD", reserve_percent=Decimal("10"), reserve_days=2,
                                   payout_minimum=0, effective_from=MONDAY, created_at=at(MONDAY, 9),
                                   created_by="test")
    payments = [
        captured(acme, 12_500, at=at(MONDAY, 10)),  # 312.5 + 100 = 412.5 fils → 412
        captured(acme, 13_300, at=at(MONDAY, 11)),  # 332.5 + 100 = 432.5 → 432
        captured(acme, 20_000, at=at(MONDAY, 12), method="instant"),  # 200 + 50 = 250
        captured(acme, 2_000, at=at(MONDAY, 13)),  # 50 + 100 = 150, at least 250
        captured(acme, 3_100, at=at(MONDAY, 14), method="wallet"),  # 15.5 → 16
    ]
    travel.move_to(at(MONDAY, 16))
    # The 13.300 payment collected 332 fils of percentage: 1.000 of it returns 332 / 13.3 = 24.96 → 25.
    refund = refunded(payments[1], 1_000, at=at(MONDAY, 16))
    run = settle(travel, MONDAY)
    return acme, client, SettlementLine.objects.get(run=run), payments, refund


def test_a_settlement_shows_its_lines_figures_prices_and_period(small_day):
    _acme, client, line, _payments, _refund = small_day

    response = client.get(f"{SETTLEMENTS}/{public_id(line)}")

    assert response.status_code == 200
    card = {"method": "card", "plan": "default", "effective_from": "2024-01-01", "percent": "2.5", "fixed": 100,
            "minimum": 250, "maximum": None, "rounding": "half_even", "refund_returns_percentage": True}
    assert response.json() == {
        "id": public_id(line), "object": "settlement", "livemode": True, "business_date": "2031-04-07",
        "currency": "BHD", "status": "settled",
        "captures": 5, "gross": 50_900, "refund_count": 1, "refunds": 1_000,
        "fees": 1_335, "fees_charged": 1_360, "fees_returned": 25,
        # Net before the reserve 48.565; 10 % is 4,856.5 fils → 4,856 (half-even), released Wednesday.
        "reserve_held": 4_856, "reserve_release_on": "2031-04-09", "reserve_released": 0, "net": 43_709,
        "carried_note": None, "payout": None, "payout_note": "No bank account for BHD payouts",
        "fee_schedule": [
            card,
            {**card, "method": "instant", "percent": "1", "fixed": 50, "minimum": None},
            {**card, "method": "wire", "percent": "0", "fixed": 1000, "minimum": None},
            {**card, "method": "wallet", "percent": "0.5", "fixed": 0, "minimum": None},
        ],
        # Sunday's cut-off (14:00 UTC) to Monday's.
        "period": {"start": "2031-04-06T17:00:00+03:00", "end": "2031-04-07T17:00:00+03:00"},
        "settled": "2031-04-07T18:00:00+03:00", "created": "2031-04-07T18:00:00+03:00",
    }
    listed = client.get(SETTLEMENTS).json()
    assert listed == {"results": [response.json()], "next": None, "previous": None}


def test_the_report_of_a_small_bhd_day_is_exactly_its_payments_refund_and_the_lines_totals(small_day):
    _acme, client, line, payments, refund = small_day
    pay = [ids.encode("pay", payment.pk) for payment in payments]

    response = client.get(f"{SETTLEMENTS}/{public_id(line)}/report.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="settlement-{public_id(line)}.csv"'
    assert report_rows(response) == [
        ["row", "payment", "refund", "captured_at", "method", "currency", "count", "amount", "fee", "fee_exact",
         "net", "note"],
        ["payment", pay[0], "", utc(MONDAY, 10), "card", "BHD", "1", "12.500", "0.412", "0.4125", "12.088", ""],
        ["payment", pay[1], "", utc(MONDAY, 11), "card", "BHD", "1", "13.300", "0.432", "0.4325", "12.868", ""],
        ["payment", pay[2], "", utc(MONDAY, 12), "instant", "BHD", "1", "20.000", "0.250", "0.250", "19.750", ""],
        ["payment", pay[3], "", utc(MONDAY, 13), "card", "BHD", "1", "2.000", "0.250", "0.250", "1.750", ""],
        ["payment", pay[4], "", utc(MONDAY, 14), "wallet", "BHD", "1", "3.100", "0.016", "0.0155", "3.084", ""],
        # 332 * 1000 / 13300 = 24.9624060150375... fils, shown to 12 decimals of a fils.
        ["refund", pay[1], ids.encode("re", refund.pk), "", "card", "BHD", "1", "1.000", "0.025",
         "0.024962406015038", "-0.975", ""],
        ["payments", "", "", "", "", "BHD", "5", "50.900", "1.360", "", "49.540", ""],
        ["refunds", "", "", "", "", "BHD", "1", "1.000", "0.025", "", "-0.975", ""],
        ["reserve_held", "", "", "", "", "BHD", "", "4.856", "", "", "-4.856", "released on 2031-04-09"],
        ["reserve_released", "", "", "", "", "BHD", "", "0.000", "", "", "0.000", ""],
        # 1360.5 - 24.96240601503759... = 1335.537593984962 fils, as the line keeps it.
        ["total", "", "", "", "", "BHD", "", "", "1.335", "1.335537593984962", "43.709", "settled"],
    ]
    assert line.fees_exact == Decimal("1335.537593984962")


def test_a_larger_days_report_adds_up_to_its_line_exactly(travel):
    acme, client = merchant_and_client()
    chance = random.Random(20310407)
    methods = ["card", "card", "card", "instant", "wire", "wallet"]
    payments = [captured(acme, chance.choice([chance.randint(100, 3_000), chance.randint(3_000, 2_000_000)]),
                         at=at(SUNDAY, 17) + timedelta(seconds=chance.randint(0, 86_399)),
                         method=chance.choice(methods))
                for _ in range(300)]
    travel.move_to(at(MONDAY, 16, 30))
    # (The factory refunds to a card, account or bank; a wallet payment would need its wallet.)
    for payment in chance.sample([payment for payment in payments if payment.method != "wallet"], 40):
        first = chance.randint(1, payment.amount)
        refunded(payment, first, at=at(MONDAY, 16, 30))
        if first < payment.amount and chance.random() < 0.5:
            payment.refresh_from_db()
            refunded(payment, chance.randint(1, payment.amount - first), at=at(MONDAY, 16, 30))
    line = SettlementLine.objects.get(run=settle(travel, MONDAY))

    rows = report_rows(client.get(f"{SETTLEMENTS}/{public_id(line)}/report.csv"))

    def major(text: str) -> int:
        return int(Decimal(text) * 1000)

    def summed(kind: str, column: int) -> int:
        return sum(major(row[column]) for row in rows if row[0] == kind)

    by_kind = {row[0]: row for row in rows[1:] if row[0] not in ("payment", "refund")}
    assert line.captures == 300 and line.refund_count > 40
    assert [row[0] for row in rows[1:]].count("payment") == line.captures
    assert [row[0] for row in rows[1:]].count("refund") == line.refund_count
    assert (summed("payment", 7), summed("payment", 8)) == (line.gross, line.fees_charged)
    assert (summed("refund", 7), summed("refund", 8)) == (line.refunds, line.fees_returned)
    assert [major(by_kind["payments"][column]) for column in (7, 8)] == [line.gross, line.fees_charged]
    assert [major(by_kind["refunds"][column]) for column in (7, 8)] == [line.refunds, line.fees_returned]
    assert major(by_kind["total"][8]) == line.fees
    assert major(by_kind["total"][10]) == line.net
    # Every row's net adds up to what moved to available; every payment row to amount less fee.
    assert sum(major(row[10]) for row in rows[1:] if row[0] != "total" and row[0] not in ("payments", "refunds")) \
        == line.net
    assert all(major(row[10]) == major(row[7]) - major(row[8]) for row in rows if row[0] == "payment")


def test_the_report_is_read_from_a_server_side_cursor_while_it_streams(small_day):
    _acme, client, line, _payments, _refund = small_day
    response = client.get(f"{SETTLEMENTS}/{public_id(line)}/report.csv")
    lines = iter(response.streaming_content)

    def open_cursors() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
            return cursor.fetchone()[0]

    assert next(lines).startswith(b"row,")
    assert next(lines).startswith(b"payment,")
    assert open_cursors() == 1
    rest = list(lines)
    assert rest[-1].startswith(b"total,")
    assert open_cursors() == 0


def test_a_carried_line_says_why_in_the_api_and_its_report(travel):
    acme, client = merchant_and_client()
    payment = captured(acme, 10_000, at=at(MONDAY, 10), method="wire")
    travel.move_to(at(MONDAY, 17, 1))
    refunded(payment, 10_000, at=at(MONDAY, 17, 1), succeeded=False)  # holds all of pending
    line = SettlementLine.objects.get(run=settle(travel, MONDAY))

    shown = client.get(f"{SETTLEMENTS}/{public_id(line)}").json()
    rows = report_rows(client.get(f"{SETTLEMENTS}/{public_id(line)}/report.csv"))

    assert (shown["status"], shown["carried_note"]) == ("carried_forward", line.carried_note)
    assert line.carried_note
    assert rows[-1] == ["total", "", "", "", "", "BHD", "", "", "1.000", "1.000", "9.000",
                        f"carried_forward: {line.carried_note}"]
    assert client.get(SETTLEMENTS, {"status": "carried_forward"}).json()["results"] == [shown]
    assert client.get(SETTLEMENTS, {"status": "settled"}).json()["results"] == []


# --- lists, filters, pages, isolation ---------------------------------------------------------------


def kwd_calendar() -> None:
    """A second currency to settle: Kuwait's calendar (Friday and Saturday off, 17:00) and a 1 %
    price for every method."""
    BusinessCalendar.objects.create(currency="KWD", market_country="KW", time_zone="Asia/Kuwait",
                                    weekend_days=[4, 5], cutoff=time(17, 0))
    FeePlanLine.objects.create(plan=FeePlan.objects.get(is_default=True), method="", currency="KWD",
                               percent=Decimal("1"), effective_from=date(2024, 1, 1), created_at=at(MONDAY, 9),
                               created_by="test")


@pytest.fixture
def three_days(travel):
    """A BHD and KWD merchant's lines: Monday in both currencies, Tuesday and Wednesday in BHD."""
    kwd_calendar()
    acme, client = merchant_and_client(currencies=["BHD", "KWD"])
    for day in (MONDAY, TUESDAY, WEDNESDAY):
        captured(acme, 10_000, at=at(day, 10), method="wire")
    captured(acme, 5_000, at=at(MONDAY, 10), method="card", currency="KWD")
    settle(travel, MONDAY, currency="BHD")
    services.settlement_run(business_date=MONDAY, currency="KWD", actor=ACTOR)
    settle(travel, TUESDAY)
    settle(travel, WEDNESDAY)
    newest_first = [public_id(line) for line in
                    SettlementLine.objects.filter(merchant_id=acme.pk).order_by("-business_date", "-id")]
    return acme, client, newest_first


def test_settlements_are_listed_newest_business_date_first_in_pages(three_days):
    _acme, client, newest_first = three_days

    everything = client.get(SETTLEMENTS).json()["results"]
    pages, page = [], client.get(SETTLEMENTS, {"limit": 1}).json()
    pages.append(page)
    while page["next"]:
        page = client.get(path_of(page["next"])).json()
        pages.append(page)
    back = client.get(path_of(pages[-1]["previous"])).json()

    assert [line["id"] for line in everything] == newest_first
    assert [(line["business_date"], line["currency"]) for line in everything][:2] == [
        ("2031-04-09", "BHD"), ("2031-04-08", "BHD")]
    assert {(line["business_date"], line["currency"]) for line in everything[2:]} == {
        ("2031-04-07", "BHD"), ("2031-04-07", "KWD")}
    # Monday's two lines share a business date: the cursor's offset walks them without a gap.
    assert [page["results"][0]["id"] for page in pages] == newest_first
    assert back["results"][0]["id"] == newest_first[2]


@pytest.mark.parametrize(("query", "expected"), [
    ({"currency": "KWD"}, [("2031-04-07", "KWD")]),
    ({"currency": "BHD", "business_date[gte]": "2031-04-08"}, [("2031-04-09", "BHD"), ("2031-04-08", "BHD")]),
    ({"business_date[lte]": "2031-04-07", "currency": "BHD"}, [("2031-04-07", "BHD")]),
    ({"business_date[gte]": "2031-04-08", "business_date[lte]": "2031-04-08"}, [("2031-04-08", "BHD")]),
    ({"status": "settled", "currency": "BHD", "business_date[gte]": "2031-04-09"}, [("2031-04-09", "BHD")]),
    ({"status": "processing"}, []),
    ({"currency": "USD"}, []),
])
def test_settlements_filter_by_currency_status_and_business_date(three_days, query, expected):
    _acme, client, _newest_first = three_days
    results = client.get(SETTLEMENTS, query).json()["results"]
    assert [(line["business_date"], line["currency"]) for line in results] == expected


@pytest.mark.parametrize(("query", "field"), [
    ({"status": "carried"}, "status"),  # the run's word, not the API's
    ({"status": ""}, "status"),
    ({"currency": "XXY"}, "currency"),
    ({"business_date[gte]": "07/04/2031"}, "business_date[gte]"),
    ({"business_date[lte]": "2031-04-31"}, "business_date[lte]"),
])
def test_an_invalid_filter_is_a_validation_problem(travel, query, field):
    _merchant, client = merchant_and_client()
    body = assert_problem(client.get(SETTLEMENTS, query), status=400, code="validation_error")
    assert [error["field"] for error in body["errors"]] == [field]


def test_another_merchants_settlement_and_report_are_not_found(small_day):
    _acme, _client, line, _payments, _refund = small_day
    _other, other_client = merchant_and_client()

    for path in (f"{SETTLEMENTS}/{public_id(line)}", f"{SETTLEMENTS}/{public_id(line)}/report.csv"):
        assert_problem(other_client.get(path), status=404, code="not_found",
                       detail=f"No settlement {public_id(line)!r}.")
    assert other_client.get(SETTLEMENTS).json()["results"] == []
    # An id of another kind, or no id at all, is not found either.
    for wrong in (ids.encode("pay", line.pk), "stl_nonsense"):
        assert_problem(other_client.get(f"{SETTLEMENTS}/{wrong}"), status=404, code="not_found")
        assert_problem(other_client.get(f"{SETTLEMENTS}/{wrong}/report.csv"), status=404, code="not_found")


def test_a_test_key_sees_test_settlements_and_a_live_key_live_ones(travel):
    acme = MerchantFactory()
    live = authenticated_client(api_key_issue(acme, mode=ApiKey.Mode.LIVE))
    test = authenticated_client(api_key_issue(acme, mode=ApiKey.Mode.TEST))
    captured(acme, 10_000, at=at(MONDAY, 10), method="wire")
    captured(acme, 20_000, at=at(MONDAY, 11), method="wire", livemode=False)
    run = settle(travel, MONDAY)
    live_line = SettlementLine.objects.get(run=run, livemode=True)
    test_line = SettlementLine.objects.get(run=run, livemode=False)

    assert [(line["id"], line["livemode"], line["gross"]) for line in live.get(SETTLEMENTS).json()["results"]] == [
        (public_id(live_line), True, 10_000)]
    assert [(line["id"], line["livemode"], line["gross"]) for line in test.get(SETTLEMENTS).json()["results"]] == [
        (public_id(test_line), False, 20_000)]
    assert_problem(test.get(f"{SETTLEMENTS}/{public_id(live_line)}"), status=404, code="not_found")
    assert_problem(live.get(f"{SETTLEMENTS}/{public_id(test_line)}/report.csv"), status=404, code="not_found")
    assert report_rows(test.get(f"{SETTLEMENTS}/{public_id(test_line)}/report.csv"))[-1][10] == "19.000"


def test_the_report_answers_accept_text_csv_and_refuses_json_only(small_day):
    _acme, client, line, _payments, _refund = small_day
    path = f"{SETTLEMENTS}/{public_id(line)}/report.csv"
    assert client.get(path, HTTP_ACCEPT="text/csv").status_code == 200
    assert_problem(client.get(path, HTTP_ACCEPT="application/json"), status=406, code="not_acceptable")


def test_the_list_costs_the_same_queries_for_one_settlement_or_a_full_page(travel):
    acme, client = merchant_and_client()
    captured(acme, 10_000, at=at(MONDAY, 10), method="wire")
    settle(travel, MONDAY)
    client.get(SETTLEMENTS)  # the key's first use is written once; only reads are counted
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(SETTLEMENTS).json()["results"]) == 1
    # Forty more business dates' lines (written directly: a run each would be slow and adds nothing).
    line = SettlementLine.objects.get(merchant_id=acme.pk)
    for days in range(1, 41):
        run = SettlementRun.objects.create(
            business_date=MONDAY - timedelta(days=days), currency="BHD", status="completed",
            period_start=line.run.period_start - timedelta(days=days),
            period_end=line.run.period_end - timedelta(days=days), started_by="test", started_at=at(MONDAY, 9),
            updated_at=at(MONDAY, 9))
        SettlementLine.objects.create(run=run, merchant_id=acme.pk, livemode=True, business_date=run.business_date,
                                      currency="BHD", status="settled", settled_in=run, settled_at=at(MONDAY, 9),
                                      created_at=at(MONDAY, 9), fee_schedule=line.fee_schedule)

    with CaptureQueriesContext(connection) as many:
        assert len(client.get(SETTLEMENTS).json()["results"]) == 41
    assert len(many) == len(one)


def test_the_list_endpoint_runs_a_bounded_number_of_queries(small_day, django_assert_max_num_queries):
    _acme, client, _line, _payments, _refund = small_day
    # The key and its merchant, the key's first use written, the page of lines with their runs.
    with django_assert_max_num_queries(3):
        assert client.get(SETTLEMENTS).status_code == 200
    with django_assert_max_num_queries(2):
        assert client.get(SETTLEMENTS, {"currency": "BHD", "status": "settled"}).status_code == 200


# --- the balance, after a run ----------------------------------------------------------------------


def test_the_balance_shows_settled_money_moved_from_pending_to_available_and_reserve(travel):
    acme, client = merchant_and_client()
    SettlementTerms.objects.create(merchant=acme, currency="BHD", reserve_percent=Decimal("10"), reserve_days=2,
                                   payout_minimum=0, effective_from=MONDAY, created_at=at(MONDAY, 9),
                                   created_by="test")
    captured(acme, 100_000, at=at(MONDAY, 10), method="wire")
    captured(acme, 7_000, at=at(MONDAY, 17, 30), method="wire")  # Tuesday's
    travel.move_to(at(MONDAY, 17, 45))
    assert client.get("/api/v1/balance").json() == {"livemode": True, "balances": [
        {"currency": "BHD", "pending": 107_000, "available": 0, "reserve": 0}]}

    settle(travel, MONDAY)

    # 100.000 less the 1.000 wire fee; 10 % of the 99.000 net held in reserve.
    assert client.get("/api/v1/balance").json() == {"livemode": True, "balances": [
        {"currency": "BHD", "pending": 7_000, "available": 89_100, "reserve": 9_900}]}
    settle(travel, TUESDAY)
    settle(travel, WEDNESDAY)  # releases Monday's reserve
    assert client.get("/api/v1/balance").json()["balances"] == [
        {"currency": "BHD", "pending": 0, "available": 89_100 + 5_400 + 9_900, "reserve": 600}]


# --- the fee plan ------------------------------------------------------------------------------------


def test_the_fee_plan_shows_todays_prices_a_merchants_own_plan_its_terms_and_changes_to_come(travel):
    acme, client = merchant_and_client(currencies=["BHD", "USD"])
    default = FeePlan.objects.get(is_default=True)
    made = {"created_at": at(MONDAY, 9), "created_by": "test"}
    enterprise = FeePlan.objects.create(code="enterprise-2031", name="Enterprise", rounding="ROUND_HALF_UP",
                                        refund_returns_percentage=False, **made)
    FeePlanLine.objects.create(plan=enterprise, method="card", currency="BHD", percent=Decimal("1.85"), fixed=50,
                               maximum=5_000, effective_from=date(2031, 3, 1), **made)
    MerchantFeePlan.objects.create(merchant=acme, plan=enterprise, effective_from=date(2031, 3, 1), **made)
    SettlementTerms.objects.create(merchant=acme, currency="BHD", reserve_percent=Decimal("5"), reserve_days=3,
                                   payout_minimum=20_000, effective_from=date(2031, 3, 1), **made)
    # Approved, to come: the default wallet price and acme's reserve from Sunday 4 May; acme's plan's
    # card price from 1 June. Not acme's concern: another plan's price, another merchant's terms.
    FeePlanLine.objects.create(plan=default, method="wallet", currency="BHD", percent=Decimal("0.45"),
                               effective_from=date(2031, 5, 4), **made)
    SettlementTerms.objects.create(merchant=acme, currency="BHD", reserve_percent=Decimal("2.5"), reserve_days=3,
                                   payout_minimum=20_000, effective_from=date(2031, 5, 4), **made)
    FeePlanLine.objects.create(plan=enterprise, method="card", currency="BHD", percent=Decimal("1.5"), fixed=50,
                               maximum=5_000, effective_from=date(2031, 6, 1), **made)
    other = FeePlan.objects.create(code="other", name="Other", **made)
    FeePlanLine.objects.create(plan=other, method="card", currency="BHD", percent=Decimal("1"),
                               effective_from=date(2031, 7, 1), **made)
    SettlementTerms.objects.create(merchant=MerchantFactory(), currency="BHD", reserve_percent=Decimal("9"),
                                   reserve_days=1, effective_from=date(2031, 8, 1), **made)

    response = client.get("/api/v1/fee_plan")

    assert response.status_code == 200
    own_card = {"method": "card", "plan": "enterprise-2031", "effective_from": "2031-03-01", "percent": "1.85",
                "fixed": 50, "minimum": None, "maximum": 5_000, "rounding": "half_up",
                "refund_returns_percentage": False}
    default_line = {"plan": "default", "effective_from": "2024-01-01", "minimum": None, "maximum": None,
                    "rounding": "half_even", "refund_returns_percentage": True}
    instant = {**default_line, "method": "instant", "percent": "1", "fixed": 50}
    wallet = {**default_line, "method": "wallet", "percent": "0.5", "fixed": 0}
    wire = {**default_line, "method": "wire", "percent": "0", "fixed": 1000}
    new_wallet = {**wallet, "percent": "0.45", "effective_from": "2031-05-04"}
    new_card = {**own_card, "percent": "1.5", "effective_from": "2031-06-01"}
    terms = {"reserve_percent": "5", "reserve_days": 3, "payout_minimum": 20_000}
    new_terms = {**terms, "reserve_percent": "2.5"}
    assert response.json() == {"object": "fee_plan", "currencies": [
        {"currency": "BHD", "business_date": "2031-04-07", "prices": [own_card, instant, wire, wallet],
         "terms": terms, "upcoming": [
             {"effective_from": "2031-05-04", "prices": [own_card, instant, wire, new_wallet], "terms": new_terms},
             {"effective_from": "2031-06-01", "prices": [new_card, instant, wire, new_wallet], "terms": new_terms},
         ]},
        # fincore has no business calendar for USD: it settles none, so prices nothing yet.
        {"currency": "USD", "business_date": None, "prices": [], "terms": None, "upcoming": []},
    ]}


def test_the_fee_plan_follows_the_business_date_not_the_calendar_date(travel):
    _acme, client = merchant_and_client()
    FeePlanLine.objects.create(plan=FeePlan.objects.get(is_default=True), method="wire", currency="BHD",
                               percent=Decimal("0"), fixed=800, effective_from=TUESDAY, created_at=at(MONDAY, 9),
                               created_by="test")

    def wire() -> tuple[str, int, list[str]]:
        (bhd,) = client.get("/api/v1/fee_plan").json()["currencies"]
        price = next(price for price in bhd["prices"] if price["method"] == "wire")
        return bhd["business_date"], price["fixed"], [change["effective_from"] for change in bhd["upcoming"]]

    assert wire() == ("2031-04-07", 1000, ["2031-04-08"])
    # From Monday's cut-off, captures belong to Tuesday: Tuesday's price is in force.
    travel.move_to(at(MONDAY, 17))
    assert wire() == ("2031-04-08", 800, [])


def test_the_fee_plan_costs_the_same_queries_for_one_change_to_come_or_many(travel):
    acme, client = merchant_and_client()
    default, other = FeePlan.objects.get(is_default=True), FeePlan.objects.create(
        code="other", name="Other", created_at=at(MONDAY, 9), created_by="test")
    made = {"currency": "BHD", "created_at": at(MONDAY, 9), "created_by": "test"}

    def changes_from(day: date) -> None:
        """A default price, acme's terms and another plan's price (no change to acme) from ``day``."""
        percent = Decimal(day.toordinal() % 90) / 10
        FeePlanLine.objects.create(plan=default, method="wire", percent=percent, effective_from=day, **made)
        SettlementTerms.objects.create(merchant=acme, reserve_percent=percent, reserve_days=1, effective_from=day,
                                       **made)
        FeePlanLine.objects.create(plan=other, method="card", percent=percent, effective_from=day, **made)

    changes_from(TUESDAY)
    client.get("/api/v1/fee_plan")  # the key's first use is written once; only reads are counted
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/fee_plan").json()["currencies"][0]["upcoming"]) == 1
    for weeks in range(1, 21):
        changes_from(TUESDAY + timedelta(weeks=weeks))

    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/fee_plan").json()["currencies"][0]["upcoming"]) == 21
    assert len(many) == len(one)


# --- the schema ------------------------------------------------------------------------------------


def test_the_schema_documents_every_field_the_csv_and_the_problems(small_day, api_client):
    _acme, client, line, _payments, _refund = small_day
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}

    shown = client.get(f"{SETTLEMENTS}/{public_id(line)}").json()
    settlement = components["Settlement"]
    assert sorted(settlement["properties"]) == sorted(settlement["required"]) == sorted(shown)
    assert components["SettlementStatusEnum"]["enum"] == ["processing", "settled", "carried_forward"]
    assert sorted(components["Price"]["properties"]) == sorted(shown["fee_schedule"][0])
    assert components["Price"]["properties"]["percent"]["pattern"] == r"^\d{1,3}(\.\d{1,6})?$"
    fee_plan = client.get("/api/v1/fee_plan").json()
    assert sorted(components["CurrencyFeePlan"]["properties"]) == sorted(fee_plan["currencies"][0])

    report = schema["paths"]["/api/v1/settlements/{settlement_id}/report.csv"]["get"]["responses"]
    assert list(report["200"]["content"]) == ["text/csv"]
    assert report["200"]["content"]["text/csv"]["schema"] == {"type": "string"}
    for status in ("400", "401", "403", "404", "406", "429", "500"):
        assert report[status]["content"] == problem, status
    listing = schema["paths"]["/api/v1/settlements"]["get"]["parameters"]
    assert {parameter["name"] for parameter in listing} == {
        "currency", "status", "business_date[gte]", "business_date[lte]", "cursor", "limit"}
