"""The settlement benchmark: ``make bench-settlement`` (``make bench`` runs it last).

One business date of a million captured payments for a thousand merchants, settled by
``manage.py settlement_run`` as a process of its own, against PostgreSQL's own GROUP BY over
the same rows. Each repetition (``BENCH_RUNS``, 3) starts from the same unsettled day: a copy of
the prepared database (``CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY``), so no
repetition settles on what an earlier one left behind. Per repetition, on its copy:

- ``group_by_ms``, the baseline: ``SELECT merchant_id, count(*), sum(amount_captured) FROM
  payments_payment WHERE currency = 'BHD' AND captured_at >= start AND captured_at < end GROUP BY
  merchant_id`` over the same rows, timed on its second run (both it and the run read warm pages).
- ``settlement_run_ms``: ``manage.py settlement_run --date D --currency BHD --json``, from the
  process's start to its exit (Python and Django starting included: that is what the command
  costs); ``settlement_run_peak_rss_mb``, its peak resident memory as GNU time reports it
  (``/usr/bin/time``: a child of this large process would count the parent's pages until exec).
  The run's output and the ledger are checked: every line settled, pending empty, available the
  nets, fee revenue and rounding the fees.
- ``process_floor_ms``: the same command again once the run has completed: it returns the run
  as it stands (a few queries), so it is the command's fixed cost. It must post nothing.
- ``captured_totals_ms``: ``apps.payments.selectors.captured_totals`` alone, with the prices
  the run uses (in a process on the copy): the run's aggregate query, which prices every capture
  in SQL, each capture's fee computed once in a fenced subquery.

Targets (issue 10): run <= 3 x GROUP BY, peak RSS < 300 MB.

Where the run's time goes, printed after the table: the run's own clock in each measured run
(its row's ``started_at``, its lines' ``created_at`` when computed and ``settled_at`` per chunk,
``finished_at``) against the process's start and exit; and one more run, on one more copy, in a
process that wraps the run's steps (``_lines_compute``, ``captured_totals``, ``_chunk_settle``,
``transfers_batch``, ``_run_finish``) and Django's cursor with timers — nothing re-implemented.

The prepared database (``fincore_bench_settlement``: ``FINCORE_BENCH_DATABASE_URL``'s name plus
``_settlement``) holds the last BHD business date closed before the benchmark starts: 1,000
merchants made by ``merchant_create``; the payments, written with COPY in capture order (methods
card 60 %, instant 25 %, wallet 10 %, wire 5 %; amounts log-uniform from 0.100 to 500.000 BHD;
instants uniform over the date's period); and each one's capture posting (connector clearing ->
merchant pending, the payment flow's client id), through ``apps.ledger.services.transfers_batch``
in batches of 1,000 from 2 processes, grouped by merchant (the same transfers and balances; a
batch then updates a few pending accounts, not hundreds) — the ledger's triggers on, as always.
Then VACUUM ANALYZE, as autovacuum would have done by the evening. About 4 minutes here;
``BENCH_SETTLEMENT_REUSE=1`` keeps a prepared database of the same size and goes straight to the
measurements.

Environment: BENCH_RUNS (3), BENCH_QUICK=1 (200,000 payments), BENCH_SETTLEMENT_PAYMENTS
(1,000,000), BENCH_SETTLEMENT_MERCHANTS (1,000), BENCH_SETTLEMENT_REUSE, BENCH_SETTLEMENT_SEED (1),
BENCH_SETTLEMENT_VERIFY=1 (``manage.py ledger_verify`` on the last copy too: a minute more).
"""

import io
import json
import math
import multiprocessing
import os
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg2
from psycopg2 import sql

from bench import database

# The benchmark's own database (the bench one's name + "_settlement"), chosen before Django is set
# up on it; a child process of the benchmark is pointed at a copy by BENCH_SETTLEMENT_DATABASE_URL.
TEMPLATE_URL = os.environ.get("BENCH_SETTLEMENT_DATABASE_URL") or (
    os.environ.get("FINCORE_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fincore_bench") + "_settlement")
os.environ["FINCORE_BENCH_DATABASE_URL"] = TEMPLATE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402

from apps.core import ids  # noqa: E402
from apps.core.actors import Actor  # noqa: E402
from apps.core.ids import uuid7  # noqa: E402
from apps.ledger import data as ledger_data  # noqa: E402
from apps.ledger import services as ledger_services  # noqa: E402
from apps.ledger.data import AccountRef, AccountRole  # noqa: E402
from apps.merchants import services as merchant_services  # noqa: E402
from apps.payments.models import Payment  # noqa: E402
from apps.settlement import selectors as settlement_selectors  # noqa: E402
from bench import harness  # noqa: E402
from bench.harness import RUNS, Sample, Target, log  # noqa: E402

CURRENCY = "BHD"
PAYMENTS = int(os.environ.get("BENCH_SETTLEMENT_PAYMENTS", "200000" if harness.QUICK else "1000000"))
MERCHANTS = int(os.environ.get("BENCH_SETTLEMENT_MERCHANTS", "1000"))
SEED = int(os.environ.get("BENCH_SETTLEMENT_SEED", "1"))
REUSE = os.environ.get("BENCH_SETTLEMENT_REUSE", "") not in ("", "0")
VERIFY = os.environ.get("BENCH_SETTLEMENT_VERIFY", "") not in ("", "0")
POST_BATCH = 1000
POST_PROCESSES = 2
ACTOR = Actor.system("bench.settlement")
FIXTURE_TABLE = "bench_settlement_fixture"
RSS_LIMIT_MB = 300.0
# Method, its share of the captures, the connector whose clearing account the capture debits.
METHODS = (("card", 0.60, "acquirer_alpha"), ("instant", 0.25, "fawri_instant"), ("wallet", 0.10, "wallet"),
           ("wire", 0.05, "swift_wire"))
AMOUNT_RANGE = (100, 500_000)  # fils: 0.100 to 500.000 BHD, log-uniform

FIGURES = ("group_by_ms", "captured_totals_ms", "settlement_run_ms", "process_floor_ms", "settlement_run_peak_rss_mb")
TARGETS = (
    Target("settlement_run_ms", "group_by_ms", 3.0, at_most=True),
    Target("settlement_run_peak_rss_mb", "rss_limit_mb", 1.0, at_most=True),
    Target("captured_totals_ms", "group_by_ms", None),
    Target("process_floor_ms", "settlement_run_ms", None),
)

GROUP_BY = ("SELECT merchant_id, count(*), sum(amount_captured) FROM payments_payment "
            "WHERE currency = %s AND captured_at >= %s AND captured_at < %s GROUP BY merchant_id")


# --- the prepared database -------------------------------------------------------------------------


@dataclass(frozen=True)
class Fixture:
    business_date: date
    period_start: datetime
    period_end: datetime
    payments: int
    merchants: int
    gross: int


def _params(url: str) -> dict[str, Any]:
    return database.maintenance_params(url)[1]


def _name(url: str) -> str:
    return database.maintenance_params(url)[0]


def _url_of(name: str) -> str:
    return TEMPLATE_URL.rsplit("/", 1)[0] + "/" + name


def _connect(url: str) -> Any:
    conn = psycopg2.connect(dbname=_name(url), **_params(url))
    conn.autocommit = True
    return conn


def fixture_read() -> Fixture | None:
    """The prepared day, if the database holds a complete one."""
    try:
        conn = _connect(TEMPLATE_URL)
    except psycopg2.OperationalError:
        return None
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [FIXTURE_TABLE])
            if cursor.fetchone()[0] is None:
                return None
            cursor.execute(f"SELECT business_date, period_start, period_end, payments, merchants, gross "
                           f"FROM {FIXTURE_TABLE}")
            row = cursor.fetchone()
    finally:
        conn.close()
    return Fixture(*row) if row else None


def prepare() -> Fixture:
    """Recreate the database and fill it with one unsettled business date (see the module)."""
    started = time.monotonic()
    database.recreate_database(TEMPLATE_URL)
    call_command("migrate", interactive=False, verbosity=0)
    calendar = settlement_selectors.calendar_get(CURRENCY)
    from apps.settlement.domain import calendar as business_calendar

    day = settlement_selectors.last_closed_business_date(currency=CURRENCY)
    start, end = business_calendar.business_date_period(calendar, day)
    log(f"settlement: {MERCHANTS:,} merchants, {PAYMENTS:,} payments captured on business date {day} "
        f"[{start.isoformat()}, {end.isoformat()})")

    merchant_ids = [merchant_services.merchant_create(legal_name=f"Benchmark Settlement {n} W.L.L.", country="BH",
                                                      currencies=[CURRENCY], actor=ACTOR).pk
                    for n in range(MERCHANTS)]
    log(f"settlement: merchants made ({time.monotonic() - started:.0f} s)")
    # Rows as the day wrote them, in capture order.
    payments = sorted(_payments(merchant_ids, start, end), key=lambda payment: payment[5])
    _copy_payments(payments)
    log(f"settlement: payments written with COPY ({time.monotonic() - started:.0f} s)")
    _post_captures(payments)
    log(f"settlement: capture postings made through transfers_batch ({time.monotonic() - started:.0f} s)")
    gross = sum(payment[2] for payment in payments)
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(f"CREATE TABLE {FIXTURE_TABLE} (business_date date, period_start timestamptz, "
                       "period_end timestamptz, payments bigint, merchants int, gross bigint)")
        cursor.execute(f"INSERT INTO {FIXTURE_TABLE} VALUES (%s, %s, %s, %s, %s, %s)",
                       [day, start, end, len(payments), MERCHANTS, gross])
        cursor.execute("CHECKPOINT")
    connections.close_all()
    log(f"settlement: prepared in {time.monotonic() - started:.0f} s")
    return Fixture(day, start, end, len(payments), MERCHANTS, gross)


# (id, merchant_id, amount, method, connector, captured_at)
PaymentRow = tuple[UUID, UUID, int, str, str, datetime]


def _payments(merchant_ids: list[UUID], start: datetime, end: datetime) -> Iterator[PaymentRow]:
    rng = random.Random(SEED)
    methods = [method for method, _, _ in METHODS]
    weights = [share for _, share, _ in METHODS]
    connectors = {method: connector for method, _, connector in METHODS}
    low, high = math.log(AMOUNT_RANGE[0]), math.log(AMOUNT_RANGE[1])
    span = (end - start).total_seconds()
    for method in rng.choices(methods, weights, k=PAYMENTS):
        captured_at = start + timedelta(seconds=rng.random() * span)
        yield (uuid7(), rng.choice(merchant_ids), int(math.exp(rng.uniform(low, high))), method, connectors[method],
               captured_at)


def _copy_payments(payments: list[PaymentRow]) -> None:
    """COPY the payments as the payment flow leaves a captured one (succeeded, automatic capture)."""
    columns = [field.column for field in Payment._meta.concrete_fields]
    buffer = io.StringIO()
    for payment_id, merchant_id, amount, method, connector, captured_at in payments:
        at = captured_at.isoformat()
        created = (captured_at - timedelta(seconds=2)).isoformat()
        values = {
            "id": payment_id.hex, "merchant_id": merchant_id.hex, "livemode": "t", "amount": amount,
            "currency": CURRENCY, "country": "BH", "method": method,
            "payment_method": f'{{"type": "{method}", "token": "tok_success"}}', "capture_method": "automatic",
            "status": "succeeded", "amount_authorized": amount, "amount_captured": amount, "captured_at": at,
            "amount_refund_reserved": 0, "amount_refunded": 0, "reference": "", "metadata": "{}", "priority": 5,
            "failure_code": "", "failure_message": "", "connector": connector, "wallet_hold_id": "\\N",
            "request_idempotency_key": "", "created_at": created, "updated_at": at,
        }
        buffer.write("\t".join(str(values[column]) for column in columns))
        buffer.write("\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")  # the settings' 60 s are for requests, not a bulk load
        cursor.cursor.copy_expert(
            f"COPY {Payment._meta.db_table} ({', '.join(columns)}) FROM STDIN", buffer, size=1 << 20)


def _capture_spec(payment: PaymentRow) -> ledger_data.TransferSpec:
    """The capture posting as ``apps.payments.postings.capture_post`` makes it: same accounts,
    client id, code and reference."""
    payment_id, merchant_id, amount, _, connector, _ = payment
    public_id = ids.encode("pay", payment_id)
    return ledger_data.TransferSpec(
        client_id=f"{ledger_data.RESERVED_CLIENT_ID_PREFIX}{public_id}:capture", kind=ledger_data.Kind.IMMEDIATE,
        debit_account_ref=AccountRef(AccountRole.CONNECTOR_CLEARING, CURRENCY, True, name=connector),
        credit_account_ref=AccountRef(AccountRole.MERCHANT_PENDING, CURRENCY, True, merchant_id=merchant_id),
        amount=amount, currency=CURRENCY, merchant_id=merchant_id, livemode=True, code="capture",
        reference=public_id, created_by="payments",
    )


def _poster(payments: list[PaymentRow], part: int, parts: int, results: Any) -> None:
    try:
        share = -(-len(payments) // parts)
        mine = payments[part * share:(part + 1) * share]
        for offset in range(0, len(mine), POST_BATCH):
            items = ledger_services.transfers_batch(
                specs=[_capture_spec(payment) for payment in mine[offset:offset + POST_BATCH]], atomic=False)
            refused = [item.result for item in items if item.refusal is not None]
            if refused:
                raise RuntimeError(f"capture postings refused: {Counter(refused)}")
            if part == 0 and (offset // POST_BATCH) % 100 == 99:
                log(f"settlement: ~{(offset + POST_BATCH) * parts:,} captures posted")
        results.put("")
    except Exception as error:  # noqa: BLE001 - reported by the parent
        results.put(repr(error))
    finally:
        connection.close()


def _post_captures(payments: list[PaymentRow]) -> None:
    """Each payment's capture posting, grouped by merchant: a batch then updates a few merchants'
    pending accounts instead of hundreds. The transfers and the balances are the same in any order,
    and the run reads only balances; it is the preparation that is faster."""
    payments = sorted(payments, key=lambda payment: (payment[1], payment[5]))
    context = multiprocessing.get_context("fork")
    connections.close_all()  # each child opens its own connection
    results = context.Queue()
    workers = [context.Process(target=_poster, args=(payments, part, POST_PROCESSES, results))
               for part in range(POST_PROCESSES)]
    for worker in workers:
        worker.start()
    errors = [error for error in (results.get() for _ in workers) if error]
    for worker in workers:
        worker.join()
    if errors:
        raise RuntimeError(errors[0])


# --- copies and measurements --------------------------------------------------------------------


def _maintenance() -> Any:
    conn = psycopg2.connect(dbname="postgres", **_params(TEMPLATE_URL))
    conn.autocommit = True
    return conn


def copy_create(name: str) -> str:
    """A copy of the prepared database (FILE_COPY: a checkpoint and a file copy, no WAL of its
    pages). Returns its URL."""
    assert "bench" in name
    connections.close_all()
    conn = _maintenance()
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(_name(TEMPLATE_URL))))
    finally:
        conn.close()
    return _url_of(name)


def copy_drop(name: str) -> None:
    assert "bench" in name
    conn = _maintenance()
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        conn.close()


def group_by_ms(url: str, fixture: Fixture) -> tuple[float, int, int]:
    """The baseline, timed on its second run; returns (ms, merchants, captures summed)."""
    conn = _connect(url)
    try:
        with conn.cursor() as cursor:
            parameters = [CURRENCY, fixture.period_start, fixture.period_end]
            cursor.execute(GROUP_BY, parameters)
            cursor.fetchall()
            started = time.perf_counter()
            cursor.execute(GROUP_BY, parameters)
            rows = cursor.fetchall()
            elapsed = time.perf_counter() - started
    finally:
        conn.close()
    return 1000 * elapsed, len(rows), sum(count for _, count, _ in rows)


@dataclass
class ChildRun:
    wall_ms: float
    peak_rss_mb: float
    cpu_s: float
    started_at: float  # time.time() at the start
    stdout: str
    stderr: str
    returncode: int


TIME = "/usr/bin/time"


def child_run(command: list[str], url: str) -> ChildRun:
    """Run ``command`` on the copy ``url``: its wall time, and its peak RSS and CPU as GNU time
    reports them. Through /usr/bin/time, not this process's own wait4: a child forked from this
    large process counts the parent's pages in its peak until it execs."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "FINCORE_BENCH_DATABASE_URL": url,
           "BENCH_SETTLEMENT_DATABASE_URL": url}
    out_path, err_path = harness.VAR / "settlement-child.out", harness.VAR / "settlement-child.err"
    usage_path = harness.VAR / "settlement-child.time"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        wall_started, started = time.time(), time.perf_counter()
        returncode = subprocess.run([TIME, "-f", "%M %U %S", "-o", str(usage_path), *command], cwd=harness.ROOT,
                                    env=env, stdout=out, stderr=err, check=False).returncode
        elapsed = time.perf_counter() - started
    rss_kb, user, system = usage_path.read_text().strip().splitlines()[-1].split()
    return ChildRun(1000 * elapsed, int(rss_kb) / 1024, float(user) + float(system), wall_started,
                    out_path.read_text(), err_path.read_text(), returncode)


def settlement_command(fixture: Fixture) -> list[str]:
    return [harness.PYTHON, "manage.py", "settlement_run", "--date", fixture.business_date.isoformat(),
            "--currency", CURRENCY, "--json"]


def _summary(run: ChildRun, what: str) -> dict[str, Any]:
    if run.returncode != 0:
        raise RuntimeError(f"{what} exited {run.returncode}:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _one_row(url: str, query: str, parameters: list[Any] | None = None) -> tuple[Any, ...]:
    conn = _connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute(query, parameters or [])
            return cursor.fetchone()
    finally:
        conn.close()


def ledger_state(url: str) -> tuple[int, int, int, int, int]:
    """(transfers, then credits less debits of: merchants' pending, merchants' available, fee
    revenue, rounding differences) in BHD, live."""
    return _one_row(url, """
        SELECT (SELECT count(*) FROM ledger_transfer),
               coalesce(sum(credits_posted - debits_posted) FILTER (WHERE code = 'merchant_pending'), 0),
               coalesce(sum(credits_posted - debits_posted) FILTER (WHERE code = 'merchant_available'), 0),
               coalesce(sum(credits_posted - debits_posted) FILTER (WHERE code = 'fee_revenue'), 0),
               coalesce(sum(credits_posted - debits_posted) FILTER (WHERE code = 'rounding'), 0)
        FROM ledger_account WHERE currency = 'BHD' AND livemode""")


def run_timestamps(url: str, fixture: Fixture) -> dict[str, Any]:
    """The run's own clock readings: started, lines computed, each chunk posted, finished."""
    started_at, finished_at, run_id = _one_row(
        url, "SELECT started_at, finished_at, id FROM settlement_settlementrun WHERE business_date = %s "
             "AND currency = %s", [fixture.business_date, CURRENCY])
    computed_at, = _one_row(url, "SELECT max(created_at) FROM settlement_settlementline WHERE run_id = %s", [run_id])
    conn = _connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT settled_at, count(*) FROM settlement_settlementline WHERE run_id = %s "
                           "GROUP BY settled_at ORDER BY settled_at", [run_id])
            chunks = cursor.fetchall()
    finally:
        conn.close()
    return {"started_at": started_at, "computed_at": computed_at, "chunks": chunks, "finished_at": finished_at}


@dataclass
class Repetition:
    samples: dict[str, Sample] = field(default_factory=dict)
    timestamps: dict[str, Any] = field(default_factory=dict)
    run: ChildRun | None = None


def repetition(number: int, fixture: Fixture) -> Repetition:
    name = f"{_name(TEMPLATE_URL)}_run{number}"
    result = Repetition()
    copying = time.monotonic()
    url = copy_create(name)
    log(f"settlement: run {number}/{RUNS}: the prepared database copied to {name} in "
        f"{time.monotonic() - copying:.0f} s")
    try:
        checkpoint(url)
        baseline, merchants, captures = group_by_ms(url, fixture)
        if (merchants, captures) != (fixture.merchants, fixture.payments):
            raise RuntimeError(f"GROUP BY found {merchants} merchants, {captures} captures: not the prepared day")
        transfers_before = ledger_state(url)[0]
        run = child_run(settlement_command(fixture), url)
        summary = _summary(run, "settlement_run")
        if (summary["status"], summary["merchants"], summary["gross"]) != ("completed", fixture.merchants,
                                                                          fixture.gross):
            raise RuntimeError(f"settlement_run printed {summary}: not the prepared day settled")
        transfers, pending, available, fee_revenue, rounding = ledger_state(url)
        # Pending empties into available (the nets) and fee revenue (the fees, then the rounding
        # difference between fee revenue and rounding differences).
        if pending != 0 or available != summary["net"] or available + fee_revenue + rounding != fixture.gross:
            raise RuntimeError(f"after the run: pending {pending}, available {available}, fee revenue {fee_revenue}, "
                               f"rounding {rounding} (summary {summary})")
        result.timestamps = run_timestamps(url, fixture)
        again = child_run(settlement_command(fixture), url)
        if _summary(again, "settlement_run (again)") != summary or ledger_state(url)[0] != transfers:
            raise RuntimeError("running the completed run again changed something")
        totals = child_run(
            [harness.PYTHON, "-m", "bench.settlement", "captured-totals", fixture.business_date.isoformat()], url)
        aggregate = json.loads(totals.stdout.strip().splitlines()[-1]) if totals.returncode == 0 else None
        if aggregate is None:
            raise RuntimeError(f"captured-totals failed:\n{totals.stderr[-3000:]}")
        if aggregate["gross"] != fixture.gross or aggregate["fees"] != summary["fees"]:
            raise RuntimeError(f"captured_totals {aggregate} disagrees with the run {summary}")
        if VERIFY and number == RUNS:
            verified = child_run([harness.PYTHON, "manage.py", "ledger_verify"], url)
            if verified.returncode != 0:
                raise RuntimeError(f"ledger_verify failed:\n{verified.stdout}\n{verified.stderr[-3000:]}")
            log(f"settlement: ledger_verify on {name}: {verified.stdout.strip().splitlines()[-1]}")
        result.run = run
        result.samples = {
            "group_by_ms": Sample(baseline),
            "captured_totals_ms": Sample(aggregate["ms"]),
            "settlement_run_ms": Sample(run.wall_ms),
            "process_floor_ms": Sample(again.wall_ms),
            "settlement_run_peak_rss_mb": Sample(run.peak_rss_mb),
        }
        log(f"  group_by {baseline:,.0f} ms, captured_totals {aggregate['ms']:,.0f} ms, run {run.wall_ms:,.0f} ms "
            f"(CPU {run.cpu_s:.1f} s, peak RSS {run.peak_rss_mb:.0f} MB; {transfers - transfers_before} transfers), "
            f"process floor {again.wall_ms:,.0f} ms")
        log(f"  the run's clock: {_timeline(run, result.timestamps)}")
    finally:
        copy_drop(name)
    return result


def checkpoint(url: str) -> None:
    conn = _connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    finally:
        conn.close()


def _timeline(run: ChildRun, stamps: dict[str, Any]) -> str:
    """Process start -> run started -> lines computed -> each chunk posted -> finished -> exit."""
    start = stamps["started_at"].timestamp()
    computed = stamps["computed_at"].timestamp()
    chunk_times = [at.timestamp() for at, _ in stamps["chunks"]]
    finished = stamps["finished_at"].timestamp()
    end = run.started_at + run.wall_ms / 1000
    chunks = [1000 * (b - a) for a, b in zip([computed, *chunk_times[:-1]], chunk_times, strict=True)]
    return (f"start-up {1000 * (start - run.started_at):,.0f} ms, compute {1000 * (computed - start):,.0f} ms, "
            f"{len(chunks)} chunks {' + '.join(f'{ms:,.0f}' for ms in chunks)} ms, "
            f"finish {1000 * (finished - chunk_times[-1]):,.0f} ms, exit {1000 * (end - finished):,.0f} ms")


# --- children -------------------------------------------------------------------------------------


def captured_totals_child(day: date) -> None:
    """Time the run's aggregate query alone, with the prices the run uses (on the copy this
    process was pointed at), once warm. Prints {"ms", "gross", "fees"}."""
    from apps.merchants import selectors as merchants_selectors
    from apps.payments import selectors as payments_selectors
    from apps.settlement.domain import calendar as business_calendar
    from apps.settlement.services import runs

    calendar = settlement_selectors.calendar_get(CURRENCY)
    start, end = business_calendar.business_date_period(calendar, day)
    merchant_ids = merchants_selectors.merchant_ids_in_currency(currency=CURRENCY)
    prices = runs._prices(settlement_selectors.fee_schedules(merchant_ids=merchant_ids, currency=CURRENCY,
                                                             business_date=day))
    payments_selectors.captured_totals(currency=CURRENCY, start=start, end=end, prices=prices)
    started = time.perf_counter()
    totals = payments_selectors.captured_totals(currency=CURRENCY, start=start, end=end, prices=prices)
    elapsed = time.perf_counter() - started

    print(json.dumps({"ms": 1000 * elapsed,
                      "gross": sum(total.gross for total in totals), "fees": sum(total.fees for total in totals)}))


STEPS = ("compute lines", "aggregate query", "settle a chunk", "ledger batch", "finish")


def phases_child(day: date) -> None:
    """Settle ``day`` as ``manage.py settlement_run`` does, with the run's own steps wrapped in
    timers (nothing re-implemented) and every SQL statement timed; prints a JSON object of
    milliseconds spent in each step, the steps inside it excluded, and in PostgreSQL (round trip
    included) while it was the innermost step."""
    from apps.payments import selectors as payments_selectors
    from apps.settlement.services import runs

    spent: dict[str, float] = defaultdict(float)
    calls: Counter[str] = Counter()
    stack: list[str] = []

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            stack.append(name)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                stack.pop()
                spent[name] += elapsed
                calls[name] += 1
                if stack:
                    spent[stack[-1]] -= elapsed
        return wrapper

    def sql_timer(execute: Any, query: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(query, params, many, context)
        finally:
            where = stack[-1] if stack else "the rest"
            spent[f"{where}: SQL"] += time.perf_counter() - started
            calls[f"{where}: SQL"] += 1

    # The run looks these up on their modules at each call, so wrapping them there times its calls.
    runs._lines_compute = timed("compute lines", runs._lines_compute)
    payments_selectors.captured_totals = timed("aggregate query", payments_selectors.captured_totals)
    runs._chunk_settle = timed("settle a chunk", runs._chunk_settle)
    ledger_services.transfers_batch = timed("ledger batch", ledger_services.transfers_batch)
    runs._run_finish = timed("finish", runs._run_finish)
    started = time.perf_counter()
    with connection.execute_wrapper(sql_timer):
        run = runs.settlement_run(business_date=day, currency=CURRENCY, actor=ACTOR)
    total = time.perf_counter() - started
    if run.status != "completed":
        raise RuntimeError(f"the timed run ended {run.status}: {run.failure}")
    spent["the rest"] = total - sum(spent[step] for step in STEPS)
    print(json.dumps({"total_ms": 1000 * total, "spent_ms": {k: 1000 * v for k, v in spent.items()},
                      "calls": dict(calls)}))


def phases(fixture: Fixture) -> dict[str, Any]:
    name = f"{_name(TEMPLATE_URL)}_phases"
    log(f"settlement: where the time goes: one more run, timed step by step, on {name}")
    url = copy_create(name)
    try:
        checkpoint(url)
        group_by_ms(url, fixture)  # as warm as the measured runs
        run = child_run([harness.PYTHON, "-m", "bench.settlement", "phases", fixture.business_date.isoformat()], url)
        if run.returncode != 0:
            raise RuntimeError(f"phases failed:\n{run.stderr[-3000:]}")
        return json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        copy_drop(name)


_STEP_LABELS = {
    "compute lines": "compute lines (besides the aggregate query)",
    "aggregate query": "the aggregate query (captured_totals)",
    "settle a chunk": "settle chunks (besides their ledger batches)",
    "ledger batch": "ledger batches (transfers_batch)",
    "finish": "finish (rounding difference, totals)",
    "the rest": "the rest (run row, lock, start, audit)",
}


def phases_report(found: dict[str, Any]) -> list[str]:
    spent, calls = found["spent_ms"], found["calls"]
    lines = [f"where a run's time goes (in-process, Django already set up: {found['total_ms']:,.0f} ms):"]
    for step in (*STEPS, "the rest"):
        # The posting engine sends its statements on psycopg2's own cursor, which Django's
        # execute_wrapper does not see: a ledger batch's PostgreSQL share is not known here.
        database = ("of which in PostgreSQL: not seen (psycopg2's own cursor)" if step == "ledger batch" else
                    f"of which in PostgreSQL {spent.get(f'{step}: SQL', 0):>7,.0f} ms "
                    f"({calls.get(f'{step}: SQL', 0)} statements)")
        lines.append(f"  {_STEP_LABELS[step]:<46} {spent.get(step, 0):>8,.0f} ms"
                     f"{f' x{calls[step]}' if calls.get(step, 0) > 1 else '':<6} {database}")
    return lines


# --- the run ----------------------------------------------------------------------------------------


def main() -> None:
    # The figures come from the same runs: BENCH_ONLY naming any of them measures them all.
    if not harness.begin("settlement", list(FIGURES) if harness.selected(FIGURES) else [], wrk_figures=set()):
        return
    fixture = fixture_read() if REUSE else None
    if fixture is not None and fixture.payments == PAYMENTS and fixture.merchants == MERCHANTS:
        log(f"settlement: reusing {_name(TEMPLATE_URL)} (business date {fixture.business_date}, "
            f"{fixture.payments:,} payments)")
    else:
        fixture = prepare()
    connections.close_all()

    samples: dict[str, list[Sample]] = {name: [] for name in FIGURES}
    loads: list[str] = []
    timelines: list[str] = []
    for number in range(1, RUNS + 1):
        loads.append(harness.load())
        result = repetition(number, fixture)
        for name, sample in result.samples.items():
            samples[name].append(sample)
        assert result.run is not None
        timelines.append(_timeline(result.run, result.timestamps))
    found = phases(fixture)

    notes = [f"run {n}: {timeline}" for n, timeline in enumerate(timelines, 1)]
    notes += phases_report(found)
    rss = [sample.value for sample in samples["settlement_run_peak_rss_mb"]]
    harness.report(
        FIGURES, samples, TARGETS, notes=notes, loads=loads, baselines={"rss_limit_mb": RSS_LIMIT_MB},
        extra={"phases_ms": {k: round(v, 1) for k, v in found["spent_ms"].items()},
               "peak_rss_mb_max": round(max(rss), 1) if rss else None},
        settings_line=f"{fixture.payments:,} payments of {fixture.merchants:,} merchants on business date "
                      f"{fixture.business_date} (BHD), chunks of {django_setting('FINCORE_SETTLEMENT_CHUNK_LINES')} "
                      f"lines, {RUNS} runs, each on its own copy of the prepared database",
        settings_json={"payments": fixture.payments, "merchants": fixture.merchants,
                       "business_date": fixture.business_date.isoformat(), "runs": RUNS,
                       "chunk_lines": django_setting("FINCORE_SETTLEMENT_CHUNK_LINES"), "seed": SEED},
    )


def django_setting(name: str) -> Any:
    from django.conf import settings

    return getattr(settings, name)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "captured-totals":
        captured_totals_child(date.fromisoformat(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "phases":
        phases_child(date.fromisoformat(sys.argv[2]))
    else:
        main()
