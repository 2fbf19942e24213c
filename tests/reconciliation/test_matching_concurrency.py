"""Two matching runs on one nostro at the same instant, each in its own thread and connection: every
statement line is matched once, and each expectation settled once."""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.db.models import Count

from apps.core.actors import Actor
from apps.reconciliation.models import Expectation, Match, MatchExpectation, MatchLine
from apps.reconciliation.services.matching import matching_run, nostro_lock
from tests.reconciliation.matching_support import expectation, lines, nostro, only_rule

ROWS = 200


def _waiting_on_locks(expected: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0] >= expected:
                return
            time.sleep(0.02)
    raise AssertionError(f"{expected} matching runs never queued on the nostro's lock")


@pytest.mark.parametrize("queued", [True, False], ids=["queued-on-the-lock", "racing"])
def test_two_runs_at_once_never_match_a_line_twice(transactional_db, queued):
    nostro()
    only_rule("one_to_one", {"field": "reference", "op": "exact"}, {"field": "amount", "op": "exact"})
    for index in range(ROWS):
        expectation(1_000 + index, reference=f"INV-{index}")
    lines([{"amount": 1_000 + index, "reference": f"INV-{index}"} for index in range(ROWS)])
    reports, failures = {}, []
    start = threading.Barrier(2)

    def run(name: str) -> None:
        try:
            start.wait(timeout=10)
            reports[name] = matching_run(nostro_code="nbb-bhd-01", actor=Actor.system(f"tests.{name}"))
        except Exception as failure:  # noqa: BLE001 - reported by the assertion below
            failures.append(failure)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("first", "second")]
    if queued:
        # Hold the nostro's lock (as a manual link would) so both runs queue on it, then let go.
        with transaction.atomic():
            nostro_lock("nbb-bhd-01")
            for thread in threads:
                thread.start()
            _waiting_on_locks(2)
    else:
        for thread in threads:
            thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert sorted(report.lines for report in reports.values()) == [0, ROWS]
    assert MatchLine.objects.count() == ROWS
    assert not MatchLine.objects.values("line_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Match.objects.count() == ROWS
    assert MatchExpectation.objects.count() == ROWS
    settled = Expectation.objects.values_list("amount", "reconciled_amount", "state")
    assert all(reconciled == amount and state == "reconciled" for amount, reconciled, state in settled)
