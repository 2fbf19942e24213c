"""The home dashboard: exact figures per rail and currency, per-role tiles, links to the lists
behind them, RabbitMQ down, a bounded number of queries, caching, and verification ages."""

import dataclasses
import re
import time
from datetime import datetime, timedelta
from datetime import time as day_time
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from celery import current_app
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from apps.audit.services import audit_chain_check, audit_record
from apps.compliance import services as compliance_services
from apps.compliance.data import ACCOUNT_FREEZE
from apps.core import clock
from apps.core.actors import Actor
from apps.core.ids import uuid7
from apps.events.outbox.models import DeadLetter
from apps.ledger.models import Verification
from apps.ledger.services import ledger_check
from apps.ops import charts, dashboard
from apps.ops.tiles import OutboxTile
from apps.payments import services as payment_services
from apps.payments.models import Payment, PaymentAttempt
from apps.routing import health
from apps.routing import selectors as routing_selectors
from apps.routing.data import Outcome
from tests.factories import ledger as ledger_factories
from tests.factories.merchants import MerchantFactory
from tests.ops.conftest import staff_user
from tests.payments.conftest import create_payment, declined, processed
from tests.support.workers import publish, purge_all_queues

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests.ops")
# What every role that views all the data sees; checkers (supervisors, superusers) also see their queue first.
VIEWER_TILES = ["payment_volume", "settlement", "treasury_positions", "liquidity_alerts", "fx_rates", "reconciliation",
                "connector_health", "attempts_needing_review", "outbox", "queues",
                "ledger_verification", "audit_verification"]
ALL_TILES = ["approvals_awaiting_me", "compliance_work", *VIEWER_TILES]


def local_noon(days_from_today: int) -> datetime:
    """Noon in Bahrain, ``days_from_today`` days from the real today: a fixed hour, so a payment
    made then is on that day whatever the hour the suite runs at."""
    today = timezone.localdate(clock.now(), timezone.get_default_timezone())
    day = today + timedelta(days=days_from_today)
    return datetime.combine(day, day_time(12), tzinfo=timezone.get_default_timezone())


def tiles_of(response) -> dict[str, dashboard.Tile]:
    assert response.status_code == 200
    return {tile.key: tile for tile in response.context["tiles"]}


def card(token: str = "tok_success") -> dict[str, str]:
    return {"type": "card", "token": token}


INSTANT = {"type": "instant", "iban": "BH67BMAG00001299123456"}


@pytest.fixture
def broker_down():
    """Point the Celery app at a port where no broker listens, as if RabbitMQ were down."""
    conf = current_app.conf
    saved = conf.broker_url, conf.broker_connection_timeout
    conf.broker_url, conf.broker_connection_timeout = "amqp://guest:guest@127.0.0.1:1//", 0.5
    yield
    conf.broker_url, conf.broker_connection_timeout = saved


def _dead_letter(queue: str, *, resolved: bool = False) -> DeadLetter:
    now = clock.now()
    resolution = {"resolution": "discarded", "resolved_at": now, "resolved_by": "tests",
                  "resolution_reason": "tested"} if resolved else {}
    return DeadLetter.objects.create(
        queue=queue, message_id=uuid7(), task_name="tests.fail_until_flagged", priority=5, death_reason="rejected",
        dead_lettered_at=now, collected_at=now, **resolution,
    )


# --- figures ------------------------------------------------------------------------------


@dataclasses.dataclass
class WeekOfPayments:
    today_noon: datetime
    today_card_bhd_test: list[Payment]
    week_card_bhd_test: list[Payment]


@pytest.fixture
def week_of_payments(routing) -> WeekOfPayments:
    """Payments over 8 days up to "today", tomorrow in real time (so today is a whole day whatever
    the real hour): what the volume tile must show is in the test below."""
    today_noon = local_noon(1)
    with time_machine.travel(today_noon):
        with time_machine.travel(today_noon - timedelta(days=7)):  # outside the 7 days
            merchant = MerchantFactory()
            processed(merchant, amount=1_000, payment_method=card())
        with time_machine.travel(today_noon - timedelta(days=3)):
            three_days_ago = processed(merchant, amount=5_000, payment_method=card())
            processed(merchant, amount=2_500, payment_method=INSTANT)
        today = processed(merchant, amount=12_500, payment_method=card())
        routing["alpha"].answer("authorize", declined())
        declined_today = processed(merchant, amount=750, payment_method=card())
        assert declined_today.status == Payment.Status.FAILED
        processed(merchant, amount=1_000, currency="USD", payment_method=card())
        processed(merchant, amount=20_000, livemode=True, payment_method=card())
    return WeekOfPayments(today_noon=today_noon, today_card_bhd_test=[today, declined_today],
                          week_card_bhd_test=[three_days_ago, today, declined_today])


def test_the_volume_tile_shows_each_rail_and_currency_today_and_over_7_days(week_of_payments, staff_login):
    with time_machine.travel(week_of_payments.today_noon + timedelta(minutes=5)):
        response = staff_login(staff_user(superuser=True)).get("/admin/")
    volume = tiles_of(response)["payment_volume"].data

    figures = [
        (line.mode, line.method, line.currency, line.today_count, line.today_succeeded, line.today_captured,
         line.week_count, line.week_succeeded, line.week_captured)
        for line in volume.lines
    ]
    assert figures == [
        ("live", "card", "BHD", 1, 1, "20.000 BHD", 1, 1, "20.000 BHD"),
        ("test", "card", "BHD", 2, 1, "12.500 BHD", 3, 2, "17.500 BHD"),
        ("test", "card", "USD", 1, 1, "10.00 USD", 1, 1, "10.00 USD"),
        ("test", "instant", "BHD", 0, 0, "0.000 BHD", 1, 1, "2.500 BHD"),
    ]
    page = response.content.decode()
    assert '<td class="number money">17.500 BHD</td>' in page
    assert '<td class="number money">10.00 USD</td>' in page
    # One chart per mode and currency, a bar per day.
    assert [(chart.title, [bar.caption.split(": ")[1] for bar in chart.bars]) for chart in volume.charts] == [
        ("BHD captured per day (live)", ["0.000 BHD"] * 6 + ["20.000 BHD"]),
        ("BHD captured per day (test)", ["0.000 BHD"] * 3 + ["7.500 BHD"] + ["0.000 BHD"] * 2 + ["12.500 BHD"]),
        ("USD captured per day (test)", ["0.00 USD"] * 6 + ["10.00 USD"]),
    ]
    assert page.count('<figure class="bar-chart">') == 3


def test_each_volume_figure_links_to_the_payments_behind_it(week_of_payments, staff_login):
    with time_machine.travel(week_of_payments.today_noon + timedelta(minutes=5)):
        client = staff_login(staff_user(superuser=True))
        volume = tiles_of(client.get("/admin/"))["payment_volume"].data
        card_bhd_test = next(line for line in volume.lines if (line.mode, line.method, line.currency)
                             == ("test", "card", "BHD"))

        for href, expected in ((card_bhd_test.today_href, week_of_payments.today_card_bhd_test),
                               (card_bhd_test.week_href, week_of_payments.week_card_bhd_test)):
            assert href.startswith("/admin/payments/payment/?")
            listed = client.get(href)
            assert listed.status_code == 200, href
            assert {payment.pk for payment in listed.context["cl"].result_list} == {p.pk for p in expected}, href
        assert len(client.get(volume.href).context["cl"].result_list) == 6
    # "Today" starts at midnight in Bahrain.
    since = parse_qs(urlsplit(card_bhd_test.today_href).query)["created_at__gte"][0]
    assert datetime.fromisoformat(since) == week_of_payments.today_noon.replace(hour=0)
    assert since.endswith("+03:00")


def test_attempts_needing_review_are_counted_and_linked(routing, staff_login):
    merchant = MerchantFactory()
    payments = [create_payment(merchant) for _ in range(3)]
    for payment in payments:
        routing["alpha"].answer("authorize", declined())
        payment_services.payment_process(payment_id=payment.pk)
    PaymentAttempt.objects.filter(payment__in=payments[:2]).update(needs_review=True)
    client = staff_login(staff_user(superuser=True))

    review = tiles_of(client.get("/admin/"))["attempts_needing_review"]

    assert (review.data.count, review.state) == (2, "warning")
    listed = client.get(review.href)
    assert {attempt.payment_id for attempt in listed.context["cl"].result_list} == {p.pk for p in payments[:2]}


def test_connectors_show_their_success_rate_and_breaker_and_an_open_breaker_is_red(staff_login):
    alpha, beta = (routing_selectors.connector_get(name) for name in ("acquirer_alpha", "acquirer_beta"))
    for outcome in (Outcome.APPROVED, Outcome.APPROVED, Outcome.APPROVED, Outcome.DECLINED):
        health.result_record(connector="acquirer_alpha", method="card", currency="BHD", outcome=outcome,
                             policy=routing_selectors.breaker_policy(alpha))
    beta_policy = dataclasses.replace(routing_selectors.breaker_policy(beta), min_samples=2)
    for _ in range(2):
        health.result_record(connector="acquirer_beta", method="card", currency="BHD", outcome=Outcome.ERROR,
                             policy=beta_policy)
    client = staff_login(staff_user(superuser=True))

    connectors = tiles_of(client.get("/admin/"))["connector_health"]

    lines = {line.name: (line.breaker, line.success_rate, line.attempts) for line in connectors.data.lines}
    assert lines["acquirer_alpha"] == ("closed", "75.0%", 4)
    assert lines["acquirer_beta"] == ("open", "0.0%", 2)
    assert lines["swift_wire"] == ("closed", "", 0)
    assert connectors.state == "alarm"
    beta_line = next(line for line in connectors.data.lines if line.name == "acquirer_beta")
    assert client.get(beta_line.href).context["original"] == beta


def test_queue_depths_and_dead_letters_per_queue(staff_login):
    purge_all_queues()
    for label in ("one", "two"):
        publish("tests.record", queue="settlement", label=label)
    _dead_letter("ledger")
    _dead_letter("ledger")
    _dead_letter("ledger", resolved=True)
    client = staff_login(staff_user(superuser=True))

    try:
        queue_tile = tiles_of(client.get("/admin/"))["queues"]
    finally:
        purge_all_queues()

    lines = {line.queue: (line.ready, line.dead_in_broker, line.dead_letters_open) for line in queue_tile.data.lines}
    assert lines == {"payments": (0, 0, 0), "ledger": (0, 0, 2), "webhooks": (0, 0, 0), "settlement": (2, 0, 0),
                     "reconciliation": (0, 0, 0), "compliance": (0, 0, 0), "default": (0, 0, 0)}
    assert queue_tile.state == "alarm"
    ledger_line = next(line for line in queue_tile.data.lines if line.queue == "ledger")
    listed = client.get(ledger_line.href)
    assert listed.status_code == 200
    assert sorted(letter.queue for letter in listed.context["cl"].result_list) == ["ledger", "ledger"]


def test_with_rabbitmq_down_the_dashboard_renders_and_the_queue_tile_says_unavailable(broker_down, staff_login):
    _dead_letter("payments")
    client = staff_login(staff_user(superuser=True))

    started = time.monotonic()
    response = client.get("/admin/")
    elapsed = time.monotonic() - started

    shown = tiles_of(response)
    assert list(shown) == ALL_TILES
    assert shown["queues"].state == "unavailable"
    assert all(line.ready is None and line.dead_in_broker is None for line in shown["queues"].data.lines)
    # What PostgreSQL knows still shows.
    assert {line.queue: line.dead_letters_open for line in shown["queues"].data.lines}["payments"] == 1
    page = response.content.decode()
    assert "RabbitMQ unavailable" in page
    assert page.count('<td class="number">unavailable</td>') == 14
    assert elapsed < 5, "the dashboard waited on RabbitMQ"


def test_the_outbox_backlog_shows_the_unsent_messages_and_turns_red_when_stuck(routing, staff_login):
    merchant = MerchantFactory()
    with time_machine.travel(clock.now() + timedelta(minutes=1)):
        create_payment(merchant)  # its processing message waits in the outbox (no relay runs here)
        client = staff_login(staff_user(superuser=True))
        outbox = tiles_of(client.get("/admin/"))["outbox"]
        # The merchant's onboarding asked for its sanctions screening too, as unsent as the payment's.
        assert (outbox.data.unsent, outbox.state) == (2, "ok")
        listed = client.get(outbox.href)
        assert sorted(message.task_name for message in listed.context["cl"].result_list) == [
            "compliance.sanctions_merchant_screen", "payments.process"]
    with time_machine.travel(clock.now() + timedelta(minutes=7)):
        assert tiles_of(client.get("/admin/"))["outbox"].state == "alarm"


# --- roles --------------------------------------------------------------------------------


@pytest.mark.parametrize(("roles", "expected"), [
    (("Compliance officer",), ["compliance_work", "payment_volume", "settlement", "treasury_positions",
                               "liquidity_alerts", "fx_rates", "reconciliation", "connector_health",
                               "attempts_needing_review", "queues", "ledger_verification", "audit_verification"]),
    (("Compliance supervisor",), ["approvals_awaiting_me", "compliance_work", "payment_volume", "settlement",
                                  "treasury_positions", "liquidity_alerts", "fx_rates", "reconciliation",
                                  "connector_health", "attempts_needing_review", "outbox", "queues",
                                  "ledger_verification", "audit_verification"]),
    (("Treasury operator",), VIEWER_TILES),
    (("Support (read-only)",), ["compliance_work", *VIEWER_TILES]),
    ((), []),
])
def test_each_role_sees_the_tiles_of_what_it_may_view(staff_login, roles, expected):
    response = staff_login(staff_user(*roles)).get("/admin/")

    assert list(tiles_of(response)) == expected
    if not expected:
        assert "No figures to show for your roles." in response.content.decode()


def test_a_superuser_sees_every_tile(staff_login):
    assert list(tiles_of(staff_login(staff_user(superuser=True)).get("/admin/"))) == ALL_TILES


# --- speed: queries and the cache ---------------------------------------------------------


def _many_rows() -> None:
    merchant_id, now = uuid7(), clock.now()
    Payment.objects.bulk_create([
        Payment(merchant_id=merchant_id, livemode=index % 2 == 0, amount=100 + index,
                currency=("BHD", "USD")[index % 3 == 0], country="BH",
                method=("card", "instant", "wire", "wallet")[index % 4], payment_method={}, priority=5,
                created_at=now - timedelta(hours=index % 140), updated_at=now)
        for index in range(600)
    ])
    for queue in ("payments", "ledger", "default"):
        for _ in range(5):
            _dead_letter(queue)
    ledger_check(actor=SYSTEM)
    audit_chain_check(actor=SYSTEM)


def test_the_dashboard_reads_a_bounded_number_of_queries_cold_and_fewer_warm(
    staff_login, django_assert_max_num_queries, django_assert_num_queries
):
    _many_rows()
    client = staff_login(staff_user(superuser=True))

    # Session, user and the verified TOTP device (3), the approvals awaiting me, never cached (1), then
    # one read per cached tile (9), but settlement's four (the calendars, their holidays and early
    # closures, the runs), compliance's three (open alerts, overdue cases, holds). Treasury's
    # positions read the nostros (none here), its alerts the open ones and FX its current rates;
    # reconciliation's three
    # (breaks by age, differing statements, agreed balances).
    with django_assert_max_num_queries(24):
        cold = client.get("/admin/")
    # The session, the user, the device and the approvals: every other tile comes from the cache.
    with django_assert_num_queries(4):
        warm = client.get("/admin/")

    assert [tile.data for tile in cold.context["tiles"]] == [tile.data for tile in warm.context["tiles"]]
    assert sum(line.week_count for line in tiles_of(warm)["payment_volume"].data.lines) == 600


def test_tiles_are_cached_per_tile_not_per_user(staff_login, django_assert_num_queries):
    _many_rows()
    staff_login(staff_user(superuser=True)).get("/admin/")
    treasury = staff_login(staff_user("Treasury operator"))

    # Session, user, device and the role's permissions (2): the figures another user's view read are reused.
    with django_assert_num_queries(5):
        response = treasury.get("/admin/")
    assert list(tiles_of(response)) == VIEWER_TILES


def test_a_new_payment_shows_once_the_cache_expires(routing, staff_login):
    merchant = MerchantFactory()
    client = staff_login(staff_user(superuser=True))
    assert tiles_of(client.get("/admin/"))["payment_volume"].data.lines == ()

    create_payment(merchant)
    assert tiles_of(client.get("/admin/"))["payment_volume"].data.lines == ()
    assert 0 < cache.ttl(f"ops:dashboard:v{dashboard.CACHE_VERSION}:payment_volume") <= dashboard.CACHE_SECONDS
    cache.delete(f"ops:dashboard:v{dashboard.CACHE_VERSION}:payment_volume")  # as when it expires

    lines = tiles_of(client.get("/admin/"))["payment_volume"].data.lines
    assert [(line.method, line.today_count) for line in lines] == [("card", 1)]


def test_a_per_user_tile_reads_for_each_user_and_is_cached_per_user(staff_login, monkeypatch):
    readers: list[str] = []

    def awaiting_me(user) -> OutboxTile:
        readers.append(user.username)
        return OutboxTile(unsent=len(user.username), oldest_created_at=None, href="/admin/")

    monkeypatch.setattr(dashboard, "TILES", (
        dashboard.TileProvider(key="mine", title="Mine", permissions=("auth.view_user",), read=awaiting_me,
                               per_user=True, template_name="outbox"),
    ))
    first, second = staff_user(superuser=True), staff_user(superuser=True)
    second.username = "a-longer-username"
    second.save()

    for user in (first, second, first, second):
        shown = tiles_of(staff_login(user).get("/admin/"))
        assert shown["mine"].data.unsent == len(user.username)
    assert readers == [first.username, second.username]
    assert list(tiles_of(staff_login(staff_user("Compliance officer")).get("/admin/"))) == []


def test_a_failing_tile_is_unavailable_and_the_rest_renders(staff_login, monkeypatch):
    def broken() -> None:
        raise RuntimeError("the table is gone")

    monkeypatch.setattr(dashboard, "TILES", tuple(
        dataclasses.replace(provider, read=broken) if provider.key == "outbox" else provider
        for provider in dashboard.TILES
    ))
    response = staff_login(staff_user(superuser=True)).get("/admin/")

    shown = tiles_of(response)
    assert list(shown) == ALL_TILES
    assert (shown["outbox"].state, shown["outbox"].data) == ("unavailable", None)
    assert shown["ledger_verification"].data is not None
    assert "these figures could not be read just now" in response.content.decode()


# --- verifications ------------------------------------------------------------------------


def test_verifications_never_run_are_red(staff_login):
    shown = tiles_of(staff_login(staff_user(superuser=True)).get("/admin/"))

    for key in ("ledger_verification", "audit_verification"):
        assert (shown[key].state, shown[key].data.detail) == ("alarm", "never run"), key


@pytest.mark.parametrize(("hours_ago", "state"), [(2, "ok"), (23, "ok"), (25, "alarm")])
def test_a_passed_verification_is_green_for_a_day_then_red(staff_login, hours_ago, state):
    with time_machine.travel(clock.now() - timedelta(hours=hours_ago)):
        audit_record(actor=SYSTEM, action="tests.event", object_type="tests", object_id="1")
        ledger_check(actor=SYSTEM)
        audit_chain_check(actor=SYSTEM)
    response = staff_login(staff_user(superuser=True)).get("/admin/")
    shown = tiles_of(response)

    assert (shown["ledger_verification"].data.ok, shown["ledger_verification"].state) == (True, state)
    assert (shown["audit_verification"].data.ok, shown["audit_verification"].state) == (True, state)
    assert shown["audit_verification"].data.detail == "0 sealed events proven, 1 awaiting their seal"
    listed = staff_login(staff_user(superuser=True)).get(shown["audit_verification"].href)
    assert [event.action for event in listed.context["cl"].result_list] == ["audit.chain_verified"]
    assert f'class="tile tile-{state}" id="tile-ledger_verification"' in response.content.decode()


def test_the_age_is_judged_when_the_page_is_drawn_not_when_it_was_cached(staff_login):
    ledger_check(actor=SYSTEM)
    user = staff_user(superuser=True)
    assert tiles_of(staff_login(user).get("/admin/"))["ledger_verification"].state == "ok"

    with time_machine.travel(clock.now() + timedelta(hours=25)):
        # Logged in again: the first session is past its 8 hours.
        assert tiles_of(staff_login(user).get("/admin/"))["ledger_verification"].state == "alarm"


def test_a_failed_verification_is_red_and_links_to_the_failed_runs(staff_login):
    now = clock.now()
    Verification.objects.create(started_at=now, finished_at=now, ok=False, problem="each currency's debits equal "
                                "its credits: violated by BHD (live)", accounts=3, transfers=2)
    client = staff_login(staff_user(superuser=True))

    ledger = tiles_of(client.get("/admin/"))["ledger_verification"]

    assert (ledger.state, ledger.data.ok, ledger.data.detail) == (
        "alarm", False, "each currency's debits equal its credits: violated by BHD (live)"
    )
    assert [v.ok for v in client.get(ledger.href).context["cl"].result_list] == [False]


# --- the page -----------------------------------------------------------------------------


def test_view_site_leads_to_the_dashboard_and_nothing_comes_from_another_host(staff_login):
    ledger_check(actor=SYSTEM)
    response = staff_login(staff_user(superuser=True)).get("/admin/")
    page = response.content.decode()

    assert '<a href="/admin/">View site</a>' in page
    assert '/static/ops/dashboard.css' in page
    addresses = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert addresses and all(address.startswith(("/", "#")) for address in addresses), addresses
    assert "<script" not in page.split('id="content-main"')[1]


def test_a_bar_chart_scales_the_tallest_bar_to_the_plot_and_keeps_small_bars_visible():
    chart = charts.bar_chart(title="BHD", values=[0, 1, 52_000, 26_000], labels=["a", "b", "c", "d"],
                             captions=["0", "1", "52", "26"], width=400, height=120)

    assert chart.baseline == 104
    assert [(bar.x, bar.width, bar.height, bar.y) for bar in chart.bars] == [
        (4, 92, 0, 104), (104, 92, 1, 103), (204, 92, 104, 0), (304, 92, 52, 52)
    ]
    assert chart.peak == "52"
    with pytest.raises(ValueError):
        charts.bar_chart(title="x", values=[-1], labels=["a"], captions=["-1"])


def test_a_checker_sees_the_requests_awaiting_them_at_once_and_a_decided_one_leaves(staff_login):
    officer, supervisor = staff_user("Compliance officer"), staff_user("Compliance supervisor")
    wallets = [ledger_factories.wallet() for _ in range(6)]
    requests = [
        compliance_services.approval_request_create(
            action=ACCOUNT_FREEZE, arguments={"account_id": str(wallet.pk)}, user=officer, reason="suspicious")
        for wallet in wallets
    ]
    client = staff_login(supervisor)

    tile = tiles_of(client.get("/admin/"))["approvals_awaiting_me"]
    assert (tile.state, tile.data.count, len(tile.data.oldest)) == ("warning", 6, 5)
    assert tile.data.oldest[0].maker == officer.username
    assert tile.data.oldest[0].href == reverse("admin:compliance_approvalrequest_change", args=[requests[0].pk])
    assert tile.href == reverse("admin:compliance_approvalrequest_mine")
    # The maker has nothing to approve: their own requests are not theirs to check.
    assert "approvals_awaiting_me" not in tiles_of(staff_login(officer).get("/admin/"))

    compliance_services.approval_request_reject(request_id=requests[0].pk, user=supervisor, reason="no grounds")
    assert tiles_of(client.get("/admin/"))["approvals_awaiting_me"].data.count == 5  # not cached: at once
