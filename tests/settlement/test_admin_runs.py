"""Settlement runs and lines in the admin: exact figures, the progress bar of a run killed after its
first chunk, a failed run's failure and its "Resume" (treasury only: journaled, handed to a worker
through the outbox), each line's drill-down to the payments and refunds it sums, and changelists
at a fixed number of queries. State is built inside a travel to Monday 7 April 2031 (Bahrain):
acme captures 12.500 and 13.500 BHD by card and refunds 5.000; zain 100.000 by wire."""

import re
from datetime import date, datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.core import faults, ids
from apps.core.actors import Actor
from apps.events.outbox.models import OutboxMessage
from apps.payments.models import Payment
from apps.settlement import services, tasks
from apps.settlement.exceptions import SettlementRunNotResumable
from apps.settlement.models import SettlementLine, SettlementRun
from tests.factories.merchants import MerchantFactory
from tests.factories.settlement import captured, refunded
from tests.factories.staff import SUPPORT, TREASURY, signed_in_client, staff_user

pytestmark = pytest.mark.django_db

BAHRAIN = ZoneInfo("Asia/Bahrain")
MONDAY = date(2031, 4, 7)
ACTOR = Actor.system("tests")
RUNS = reverse("admin:settlement_settlementrun_changelist")
LINES = reverse("admin:settlement_settlementline_changelist")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2031, 4, day, hour, minute, tzinfo=BAHRAIN)


class Killed(BaseException):
    """What SIGKILL is to a worker: nothing of the run's own handling sees it."""


@pytest.fixture
def monday():
    """Monday's captures and refund; the clock stays at Monday 18:00, after its cut-off."""
    with time_machine.travel(at(7, 9), tick=False) as traveller:
        acme = MerchantFactory(legal_name="Acme Trading W.L.L.")
        zain = MerchantFactory(legal_name="Zain Bakery W.L.L.")
        captured(acme, 9_000, at=at(6, 16, 59))  # Sunday's
        captured(acme, 12_500, at=at(6, 17, 0))  # Monday's: Sunday after the cut-off
        second = captured(acme, 13_500, at=at(7, 16, 59))
        captured(acme, 4_000, at=at(7, 17, 0))  # Tuesday's
        captured(zain, 100_000, at=at(7, 10), method="wire")
        traveller.move_to(at(7, 16, 59))
        refunded(second, 5_000, at=at(7, 16, 59))
        traveller.move_to(at(7, 18))
        yield {"acme": acme, "zain": zain, "second": second, "clock": traveller}


@pytest.fixture
def settled(monday):
    return services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)


def _stopped_after_first_chunk(monkeypatch, failure: BaseException) -> SettlementRun:
    """Run Monday a line at a time, stopped by ``failure`` once its first line is settled."""

    def crash_point(name: str) -> None:
        if name == "settlement.after_chunk":
            raise failure

    monkeypatch.setattr(faults, "crash_point", crash_point)
    with override_settings(FINCORE_SETTLEMENT_CHUNK_LINES=1), pytest.raises(type(failure)):
        services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    monkeypatch.undo()
    return SettlementRun.objects.get()


@pytest.fixture
def running(monday, monkeypatch):
    """A run whose worker was killed after its first chunk: still running, 1 of 2 merchants."""
    return _stopped_after_first_chunk(monkeypatch, Killed())


@pytest.fixture
def failed(monday, monkeypatch):
    return _stopped_after_first_chunk(monkeypatch, RuntimeError("the ledger's database went away"))


@pytest.fixture
def treasury():
    return signed_in_client(staff_user(TREASURY, username="tariq"))


def _text(response) -> str:
    """The page's text without tags, its white space collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))).strip()


def _row(response) -> list[str]:
    """The cells of the first result row, as text."""
    row = re.search(r'<tbody>\s*<tr[^>]*>(.*?)</tr>', response.content.decode(), re.S).group(1)
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
    return [re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", cell))).strip() for cell in cells]


# --- runs ---------------------------------------------------------------------------------------------


def test_the_run_list_shows_each_run_with_its_progress_totals_and_attempts(settled, treasury,
                                                                          django_assert_num_queries):
    treasury.get(RUNS)

    # Session, user, device, permissions (2), the currency filter's calendars, two counts, the page,
    # and the date hierarchy's range and days.
    with django_assert_num_queries(11):
        response = treasury.get(RUNS)

    assert response.status_code == 200
    assert _row(response) == ["BHD 2031-04-07", "Completed", "2 of 2", "126.000 BHD", "1.725 BHD", "119.275 BHD",
                              "1"]
    assert '<progress value="2" max="2" title="100 %"></progress> 2 of 2' in response.content.decode()
    assert "Export CSV" in response.content.decode()


def test_a_completed_runs_page_shows_its_totals_and_links_to_its_lines(settled, treasury):
    response = treasury.get(reverse("admin:settlement_settlementrun_change", args=[settled.pk]))

    html, text = response.content.decode(), _text(response)
    assert response.status_code == 200
    assert ids.encode("sr", settled.pk) in text
    for figure in ("Gross 126.000 BHD", "Refunds 5.000 BHD", "Fees 1.725 BHD", "Reserve held 0.000 BHD",
                   "Reserve released 0.000 BHD", "Net 119.275 BHD", "2 lines : 2 settled"):
        assert figure in text, figure
    assert f'href="{LINES}?run={ids.encode("sr", settled.pk)}"' in html
    assert 'http-equiv="refresh"' not in html
    assert "Resume" not in text and "So far" not in text


def test_a_running_runs_page_shows_its_progress_its_totals_so_far_and_reloads_itself(running, treasury):
    assert (running.status, running.merchants_settled, running.merchants, running.attempts) == ("running", 1, 2, 1)

    response = treasury.get(reverse("admin:settlement_settlementrun_change", args=[running.pk]))

    html, text = response.content.decode(), _text(response)
    assert '<meta http-equiv="refresh" content="5">' in html
    assert '<progress value="1" max="2" title="50 %"></progress> 1 of 2' in html
    # The run writes its totals when it completes: until then, the sum of its lines so far.
    assert "Gross 126.000 BHD" in text and "Net 119.275 BHD" in text
    assert "So far: the lines computed, as the run has not completed." in text
    assert "2 lines : 1 computed, 1 settled" in text
    listed = _row(treasury.get(RUNS))
    assert listed[1:4] == ["Running", "1 of 2", "-"]


def test_a_failed_run_shows_why_and_treasury_resumes_it_journaled_and_through_the_outbox(failed, treasury, monday):
    page = reverse("admin:settlement_settlementrun_change", args=[failed.pk])
    resume = reverse("admin:settlement_settlementrun_resume", args=[failed.pk])

    shown = treasury.get(page)
    assert "RuntimeError: the ledger's database went away" in _text(shown)
    assert f'href="{resume}"' in shown.content.decode()
    assert 'http-equiv="refresh"' not in shown.content.decode()
    form = treasury.get(resume)
    assert form.status_code == 200 and "1 of 2" in _text(form)

    response = treasury.post(resume, {"reason": "The database is back (incident 2031-88)"})

    assert (response.status_code, response["Location"]) == (302, page)
    journaled = AuditEvent.objects.get(action="settlement.run_resume_requested")
    assert (journaled.object_type, journaled.object_id, journaled.actor_label, journaled.reason) == (
        "settlement.settlementrun", ids.encode("sr", failed.pk), "tariq", "The database is back (incident 2031-88)")
    assert journaled.after == {"business_date": "2031-04-07", "currency": "BHD", "attempts": 1,
                               "failure": "RuntimeError: the ledger's database went away"}
    message = OutboxMessage.objects.get(task_name="settlement.run")
    assert (message.queue, message.kwargs, message.published_at) == (
        "settlement", {"business_date": "2031-04-07", "currency": "BHD", "requested_by": "tariq"}, None)
    failed.refresh_from_db()
    assert failed.status == SettlementRun.Status.FAILED  # until the worker takes it

    # The worker's task, as the message asks: the run resumes where it stopped and completes.
    assert tasks.run(**message.kwargs) == "completed"
    failed.refresh_from_db()
    assert (failed.status, failed.merchants_settled, failed.attempts, failed.net) == ("completed", 2, 2, 119_275)


def test_only_treasury_resumes_and_a_run_that_has_not_failed_is_not_resumed(failed, settled_elsewhere, treasury):
    support = signed_in_client(staff_user(SUPPORT))
    page = reverse("admin:settlement_settlementrun_change", args=[failed.pk])
    resume = reverse("admin:settlement_settlementrun_resume", args=[failed.pk])

    assert "resume-run" not in support.get(page).content.decode()
    assert support.get(resume).status_code == 403
    assert support.post(resume, {"reason": "I may not"}).status_code == 403
    refused = treasury.post(resume, {"reason": " "})
    assert refused.status_code == 200 and "This field is required." in _text(refused)
    completed = reverse("admin:settlement_settlementrun_resume", args=[settled_elsewhere.pk])
    answer = treasury.post(completed, {"reason": "twice"}, follow=True)
    assert "The run is completed: only a failed run is resumed." in _text(answer)

    assert not AuditEvent.objects.filter(action="settlement.run_resume_requested").exists()
    assert not OutboxMessage.objects.filter(task_name="settlement.run").exists()


@pytest.fixture
def settled_elsewhere(monday):
    """A completed run of another date (Sunday's capture)."""
    return services.settlement_run(business_date=date(2031, 4, 6), currency="BHD", actor=ACTOR)


def test_the_resume_service_refuses_a_run_that_is_not_failed_and_writes_nothing(settled):
    with pytest.raises(SettlementRunNotResumable) as refused:
        services.settlement_run_resume_request(run_id=settled.pk, actor=ACTOR, reason="again")

    assert refused.value.detail == "The BHD run of 2031-04-07 is completed: only a failed run is resumed."
    assert not OutboxMessage.objects.filter(task_name="settlement.run").exists()


# --- lines ---------------------------------------------------------------------------------------------


def test_the_line_list_shows_each_merchants_figures_at_a_fixed_number_of_queries(settled, treasury,
                                                                                django_assert_num_queries):
    acme = SettlementLine.objects.get(merchant_id=settled.lines.order_by("gross").first().merchant_id)
    url = f"{LINES}?run={ids.encode('sr', settled.pk)}"
    treasury.get(url)

    # Session, user, device, permissions (2), the currency filter's calendars, one count (capped) and
    # the page: the merchant's name is a subquery of the page's query, the run filter reads nothing.
    with django_assert_num_queries(8):
        response = treasury.get(url)

    # The status cell says why no payout was made (Acme has no bank account).
    assert _row(response) == ["2031-04-07 BHD live", "Acme Trading W.L.L.", "Settled No bank account for BHD payouts",
                              "26.000 BHD 2 captures",
                              "5.000 BHD", "0.725 BHD", "0.000 BHD 0.000 BHD", "20.275 BHD"]
    assert f'href="{reverse("admin:settlement_settlementline_change", args=[acme.pk])}' in response.content.decode()
    assert len(response.context["cl"].result_list) == 2


@pytest.mark.parametrize(("query", "expected"), [
    ({"status__exact": "settled"}, 2),
    ({"status__exact": "carried"}, 0),
    ({"currency": "BHD"}, 2),
    ({"merchant": "Zain"}, 1),
    ({"q": "ZAIN BAKERY"}, 1),
])
def test_lines_are_filtered_by_run_status_currency_and_merchant(settled, treasury, query, expected):
    response = treasury.get(LINES, {"run": ids.encode("sr", settled.pk), **query})

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == expected


def test_a_line_is_found_by_its_stl_id_and_a_runs_by_its_sr_id(settled, settled_elsewhere, treasury):
    line = SettlementLine.objects.filter(run=settled).first()

    by_line = treasury.get(LINES, {"q": ids.encode("stl", line.pk)})
    by_run = treasury.get(LINES, {"q": ids.encode("sr", settled.pk)})

    assert [row.pk for row in by_line.context["cl"].result_list] == [line.pk]
    assert {row.run_id for row in by_run.context["cl"].result_list} == {settled.pk}
    assert treasury.get(LINES, {"run": "sr_nonsense"}).status_code == 302  # ?e=1: the admin's bad-filter page


def test_a_lines_page_drills_down_to_exactly_the_payments_and_refunds_it_sums(monday, settled, treasury):
    acme = monday["acme"]
    line = SettlementLine.objects.get(run=settled, merchant_id=acme.pk)

    page = treasury.get(reverse("admin:settlement_settlementline_change", args=[line.pk]))
    html, text = page.content.decode(), _text(page)
    assert "2 payments captured from 2031-04-06 17:00 to 2031-04-07 17:00" in text
    assert "1 refund succeeded" in text
    assert "card 2.5 % + 0.100 BHD, at least 0.250 BHD default from 2024-01-01" in text
    payments_url = re.search(r'href="([^"]+)" class="line-payments"', html).group(1).replace("&amp;", "&")
    refunds_url = re.search(r'href="([^"]+)" class="line-refunds"', html).group(1).replace("&amp;", "&")
    assert urlsplit(payments_url).path == reverse("admin:payments_payment_changelist")
    assert parse_qs(urlsplit(payments_url).query) == {
        "merchant": [ids.encode("mer", acme.pk)], "livemode__exact": ["1"], "currency": ["BHD"],
        "captured_at__gte": ["2031-04-06T14:00:00+00:00"], "captured_at__lt": ["2031-04-07T14:00:00+00:00"]}

    # The payments list takes those parameters (no "?e=1"): the two Monday captures, not Sunday's nor Tuesday's.
    payments = treasury.get(payments_url)
    assert payments.status_code == 200
    assert sorted(payment.amount for payment in payments.context["cl"].result_list) == [12_500, 13_500]
    refunds = treasury.get(refunds_url)
    assert refunds.status_code == 200
    assert [(refund.payment_id, refund.amount) for refund in refunds.context["cl"].result_list] == [
        (monday["second"].pk, 5_000)]
    assert Payment.objects.filter(merchant_id=acme.pk).count() == 4


def test_everything_here_is_read_only(settled, treasury):
    line = SettlementLine.objects.filter(run=settled).first()
    superuser = signed_in_client(staff_user(superuser=True))

    for client in (treasury, superuser):
        assert client.get(reverse("admin:settlement_settlementrun_add")).status_code == 403
        assert client.post(reverse("admin:settlement_settlementrun_change", args=[settled.pk]), {}).status_code == 403
        assert client.post(reverse("admin:settlement_settlementline_delete", args=[line.pk]),
                           {"post": "yes"}).status_code == 403
