"""The ledger benchmark: ``make bench`` (``BENCH_QUICK=1 make bench`` for a short run).

Measures, in one run against the same PostgreSQL, the figures below, each ``BENCH_RUNS``
times (3 by default) for ``BENCH_SECONDS`` seconds, rounds interleaved so drift on this noisy
machine spreads over every figure; prints each run, a table of medians with the targets'
ratios and, as its last line, one JSON object.

- ``pgbench_tpcb_tps``: pgbench's built-in TPC-B-like script, 8 clients on 2 threads, on a
  database of its own at scale 10 — one commit per business transaction, this machine's limit
  for anything that commits each transfer.
- ``engine_batch_tps``: ``apps.ledger.engine.post`` with batches of ``BENCH_BATCH`` (1,000)
  transfers between uniform random pairs of 10,000 funded customer wallets (no-overdraft rule
  on), from ``BENCH_BATCH_CALLERS`` (2) processes.
- ``engine_hot_tps``: the same, every transfer debiting one funding account.
- ``engine_single_tps``: one transfer per ``engine.post([spec])``, each its own transaction,
  from 8 processes (processes, not threads: threads would share one GIL).
- ``api_tps``: ``POST /api/v1/transfers`` through gunicorn (``deploy/gunicorn.conf.py``,
  ``bench.settings``: DEBUG off) from wrk, 16 connections.
- ``api_ceiling_rps``: ``POST /api/v1/bench/ping`` — authentication, throttle, idempotency
  and ``ApiView`` as the real API, then a one-row INSERT — same server, same wrk settings.
- ``api_bare_rps``: ``POST /api/v1/bench/bare`` — the same INSERT from a bare DRF ``APIView``
  (no authentication, throttle or idempotency), same server and wrk settings: the ceiling's
  distance from it is what fincore's API plumbing costs.

Everything lives in the benchmark's own database (``bench.settings``), recreated by
``make bench``. Environment: BENCH_QUICK=1, BENCH_RUNS, BENCH_SECONDS, BENCH_ONLY (comma-separated
figure names), BENCH_BATCH, BENCH_BATCH_CALLERS, BENCH_SINGLE_CALLERS, BENCH_API_CLIENTS,
BENCH_PROFILE=1 (py-spy profiles into var/bench/, needs ``py-spy`` on PATH or BENCH_PYSPY).
"""

import multiprocessing
import os
import random
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.db import connection, connections  # noqa: E402

from apps.core import clock  # noqa: E402
from apps.core.actors import Actor  # noqa: E402
from apps.ledger import data, engine  # noqa: E402
from apps.ledger.models import Account  # noqa: E402
from apps.merchants import services as merchant_services  # noqa: E402
from bench import database, harness  # noqa: E402
from bench.harness import (  # noqa: E402
    RUNS,
    SECONDS,
    VAR,
    Sample,
    Server,
    Target,
    backends_cpu,
    checkpoint,
    http,
    log,
    pg_args,
    pg_params,
    process_cpu,
    table_rows,
    wrk_rps,
    wrk_script,
)
from bench.urls import BARE_PATH, PING_TABLE  # noqa: E402

BATCH = int(os.environ.get("BENCH_BATCH", "1000"))
BATCH_CALLERS = int(os.environ.get("BENCH_BATCH_CALLERS", "2"))
SINGLE_CALLERS = int(os.environ.get("BENCH_SINGLE_CALLERS", "8"))
API_CLIENTS = harness.API_CLIENTS
WALLETS = int(os.environ.get("BENCH_WALLETS", "10000"))
API_FUNDING_ACCOUNTS = 20
API_WALLETS = 200
PGBENCH_SCALE = 10
PGBENCH_DATABASE = "fincore_bench_pgbench"
WALLET_FUNDS = 10**12  # minor units per wallet: no transfer of the benchmark is ever refused
CURRENCY = "BHD"
ACTOR = Actor.system("bench.ledger")

FIGURES = ("pgbench_tpcb_tps", "engine_batch_tps", "engine_hot_tps", "engine_single_tps", "api_tps",
           "api_ceiling_rps", "api_bare_rps")
API_FIGURES = {"api_tps", "api_ceiling_rps", "api_bare_rps"}
ONLY = harness.selected(FIGURES)


# --- pgbench -----------------------------------------------------------------------------------


def pgbench_prepare() -> None:
    url = os.environ["FINCORE_DATABASE_URL"].rsplit("/", 1)[0] + "/" + PGBENCH_DATABASE
    database.recreate_database(url)
    env = {**os.environ, "PGPASSWORD": str(pg_params().get("password", ""))}
    subprocess.run(["pgbench", *pg_args(), "-i", "-q", "-s", str(PGBENCH_SCALE), PGBENCH_DATABASE],
                   check=True, capture_output=True, env=env)


def pgbench_tps(seconds: float) -> Sample:
    env = {**os.environ, "PGPASSWORD": str(pg_params().get("password", ""))}
    duration = max(1, round(seconds))
    command = ["pgbench", *pg_args(), "-c", "8", "-j", "2", "-T", str(duration), PGBENCH_DATABASE]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    # pgbench's backends end with it: their CPU is read shortly before the end.
    time.sleep(duration * 0.9)
    backends, at, client = backends_cpu(PGBENCH_DATABASE), time.monotonic() - started, process_cpu(process.pid)
    stdout, stderr = process.communicate()
    if process.returncode:
        raise RuntimeError(f"pgbench failed:\n{stdout}\n{stderr}")
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", stdout)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps:\n{stdout}\n{stderr}")
    tps = float(match.group(1))
    transactions = tps * at
    return Sample(tps, 1000 * client / transactions, 1000 * sum(backends.values()) / transactions)


# --- the engine --------------------------------------------------------------------------------


@dataclass
class EngineFixture:
    merchant_id: Any
    funding_id: Any
    wallet_ids: list[Any]


def engine_prepare() -> EngineFixture:
    """A merchant, one funding account (may go negative) and WALLETS wallets it funds.

    The wallets are inserted in bulk (10,000 audited account openings would take longer than the
    benchmark); their money arrives through the engine, as any money does.
    """
    merchant = merchant_services.merchant_create(
        legal_name="Benchmark Engine W.L.L.", country="BH", currencies=[CURRENCY], actor=ACTOR
    )
    from apps.ledger import services as ledger_services

    funding = ledger_services.customer_account_open(
        merchant_id=merchant.pk, currency=CURRENCY, actor=ACTOR, reference="bench-funding", allow_overdraft=True
    )
    now = clock.now()
    wallets = Account.objects.bulk_create(
        Account(currency=CURRENCY, owner_type=Account.OwnerType.CUSTOMER, merchant_id=merchant.pk,
                code=Account.Code.WALLET, reference=f"bench-wallet-{n}", debits_must_not_exceed_credits=True,
                created_at=now)
        for n in range(WALLETS)
    )
    wallet_ids = [wallet.pk for wallet in wallets]
    for start in range(0, len(wallet_ids), 1000):
        outcomes = engine.post([
            data.TransferSpec(client_id=f"fund:{wallet_id}", debit_account_id=funding.pk, credit_account_id=wallet_id,
                              amount=WALLET_FUNDS, currency=CURRENCY, merchant_id=merchant.pk, code="funding",
                              created_by="bench")
            for wallet_id in wallet_ids[start:start + 1000]
        ])
        assert all(outcome.result == data.Result.OK for outcome in outcomes), outcomes[:3]
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE ledger_account")
        cursor.execute("ANALYZE ledger_transfer")
        cursor.execute("ANALYZE ledger_entry")
    connection.close()
    return EngineFixture(merchant.pk, funding.pk, wallet_ids)


SpecMaker = Callable[[random.Random, str], data.TransferSpec]


def _wallet_to_wallet(fixture: EngineFixture) -> SpecMaker:
    wallets = fixture.wallet_ids

    def make(rng: random.Random, client_id: str) -> data.TransferSpec:
        debit, credit = rng.sample(wallets, 2)
        return data.TransferSpec(client_id=client_id, debit_account_id=debit, credit_account_id=credit,
                                 amount=rng.randint(1, 10_000), currency=CURRENCY, merchant_id=fixture.merchant_id,
                                 code="transfer", created_by="bench")
    return make


def _hot_funding(fixture: EngineFixture) -> SpecMaker:
    wallets, funding = fixture.wallet_ids, fixture.funding_id

    def make(rng: random.Random, client_id: str) -> data.TransferSpec:
        return data.TransferSpec(client_id=client_id, debit_account_id=funding, credit_account_id=rng.choice(wallets),
                                 amount=rng.randint(1, 10_000), currency=CURRENCY, merchant_id=fixture.merchant_id,
                                 code="topup", created_by="bench")
    return make


@dataclass
class WorkerResult:
    posted: int = 0
    refused: int = 0
    started: float = 0.0
    finished: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    error: str = ""


def _engine_worker(make: SpecMaker, batch: int, seconds: float, tag: str, barrier: Any, results: Any) -> None:
    """One caller: warm up, wait for the others, then post batches until the time is up."""
    result = WorkerResult()
    try:
        rng = random.Random(f"{tag}:{os.getpid()}")
        sequence = 0

        def batch_of_specs() -> list[data.TransferSpec]:
            nonlocal sequence
            specs = [make(rng, f"{tag}:{sequence + n}") for n in range(batch)]
            sequence += batch
            return specs

        for _ in range(max(1, 20 // batch)):
            engine.post(batch_of_specs())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (backend,) = cursor.fetchone()
        barrier.wait()
        client_cpu, server_cpu = process_cpu(os.getpid()), process_cpu(backend)
        result.started = time.monotonic()
        deadline = result.started + seconds
        while True:
            outcomes = engine.post(batch_of_specs())
            ok = sum(outcome.result == data.Result.OK for outcome in outcomes)
            result.posted += ok
            result.refused += len(outcomes) - ok
            result.finished = time.monotonic()
            if result.finished >= deadline:
                break
        result.client_cpu = process_cpu(os.getpid()) - client_cpu
        result.server_cpu = process_cpu(backend) - server_cpu
    except Exception as error:  # noqa: BLE001 - reported by the parent, which fails the figure
        result.error = repr(error)
        barrier.abort()
    finally:
        connection.close()
        results.put(result)


def engine_tps(make: SpecMaker, *, batch: int, callers: int, seconds: float, label: str,
               on_start: Callable[[list[int]], None] | None = None) -> Sample:
    """Transfers per second of ``callers`` processes each posting batches of ``batch``."""
    context = multiprocessing.get_context("fork")
    connections.close_all()  # a forked child must open its own connection
    barrier, results = context.Barrier(callers + 1), context.Queue()
    tag = f"{label}-{secrets.token_hex(4)}"
    workers = [
        context.Process(target=_engine_worker, args=(make, batch, seconds, f"{tag}-{n}", barrier, results))
        for n in range(callers)
    ]
    for worker in workers:
        worker.start()
    try:
        barrier.wait(timeout=120)
    except Exception as error:  # noqa: BLE001 - a worker failed while warming up; its error follows
        log(f"{label}: a caller failed before the start ({error!r})")
    if on_start is not None:
        on_start([worker.pid for worker in workers])
    outcomes = [results.get(timeout=seconds + 180) for _ in workers]
    for worker in workers:
        worker.join()
    errors = [outcome.error for outcome in outcomes if outcome.error]
    if errors:
        raise RuntimeError(f"{label}: {errors[0]}")
    refused = sum(outcome.refused for outcome in outcomes)
    if refused:
        raise RuntimeError(f"{label}: {refused} transfers refused; the fixture should make that impossible")
    elapsed = max(o.finished for o in outcomes) - min(o.started for o in outcomes)
    posted = sum(outcome.posted for outcome in outcomes)
    return Sample(posted / elapsed, 1000 * sum(o.client_cpu for o in outcomes) / posted,
                  1000 * sum(o.server_cpu for o in outcomes) / posted)


# --- the API -----------------------------------------------------------------------------------


@dataclass
class ApiFixture:
    secret: str
    transfer_bodies: str = ""  # a Lua expression building one transfer body, or "" when the API is absent
    notes: list[str] = field(default_factory=list)


def api_prepare() -> ApiFixture:
    """A merchant made by ``manage.py merchant_create --json``, its accounts opened over HTTP."""
    fixture = ApiFixture(secret=harness.api_merchant("Benchmark API W.L.L.", CURRENCY))
    _api_transfer_fixture(fixture)
    return fixture


def _api_transfer_fixture(fixture: ApiFixture) -> None:
    """API_FUNDING_ACCOUNTS funding accounts and API_WALLETS wallets opened with POST /api/v1/accounts;
    each transfer goes from a random funding account to a random wallet, so none is ever refused."""
    status, body = http("POST", "/api/v1/accounts", fixture.secret, {"currency": CURRENCY, "allow_overdraft": True})
    if status == 404:
        fixture.notes.append("POST /api/v1/accounts is not mounted (yet): api_tps not measured")
        return
    if status != 201:
        raise RuntimeError(f"POST /api/v1/accounts answered {status}: {body}")
    funding = [body["id"]]

    def open_account(index: int) -> str:
        overdraft = index < API_FUNDING_ACCOUNTS - 1
        status, body = http("POST", "/api/v1/accounts", fixture.secret,
                            {"currency": CURRENCY, "allow_overdraft": overdraft, "reference": f"bench-{index}"})
        if status != 201:
            raise RuntimeError(f"POST /api/v1/accounts answered {status}: {body}")
        return body["id"]

    with ThreadPoolExecutor(8) as pool:
        opened = list(pool.map(open_account, range(API_FUNDING_ACCOUNTS - 1 + API_WALLETS)))
    funding += opened[:API_FUNDING_ACCOUNTS - 1]
    wallets = opened[API_FUNDING_ACCOUNTS - 1:]
    status, body = http("POST", "/api/v1/transfers", fixture.secret, {
        "debit_account": funding[0], "credit_account": wallets[0], "amount": 1, "currency": CURRENCY})
    if status != 201:
        raise RuntimeError(f"POST /api/v1/transfers answered {status}: {body}")

    fixture.transfer_bodies = f"""
local funding = {harness.lua_list(funding)}
local wallets = {harness.lua_list(wallets)}
function make_body(n)
  return '{{"debit_account": "' .. funding[math.random(#funding)] .. '", "credit_account": "' ..
    wallets[math.random(#wallets)] .. '", "amount": ' .. math.random(1, 10000) .. ', "currency": "{CURRENCY}"}}'
end
"""


# --- profiles --------------------------------------------------------------------------------

PROFILE = os.environ.get("BENCH_PROFILE", "") not in ("", "0")
PYSPY = os.environ.get("BENCH_PYSPY") or shutil.which("py-spy")


class Profiler:
    """py-spy on a figure's processes while it runs, summarised by bench.profile."""

    def __init__(self, name: str, seconds: float) -> None:
        self.name, self.seconds = name, seconds
        self.raw = VAR / f"profile-{name}.raw"
        self.process: subprocess.Popen[bytes] | None = None

    def attach(self, pid: int, *, subprocesses: bool = False) -> None:
        command = [str(PYSPY), "record", "--nonblocking", "-r", "200", "-f", "raw", "-o", str(self.raw),
                   "-d", str(max(1, int(self.seconds))), "-p", str(pid)]
        self.process = subprocess.Popen(command + (["--subprocesses"] if subprocesses else []),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def summary(self) -> str:
        from bench.profile import summarise

        if self.process is not None:
            self.process.wait(timeout=self.seconds + 60)
        if not self.raw.exists():
            return f"no profile for {self.name} (py-spy failed?)"
        text = summarise(self.raw.read_text(), 20)
        (VAR / f"profile-{self.name}.txt").write_text(text + "\n")
        return text


def profile(name: str, measures: dict[str, Callable[..., Sample]], server: Server) -> None:
    profiler = Profiler(name, SECONDS)
    if name.startswith("engine_"):
        measures[name](on_start=lambda pids: profiler.attach(pids[0]))
        who = "one of its caller processes"
    else:
        assert server.process is not None
        profiler.attach(server.process.pid, subprocesses=True)
        time.sleep(1)  # py-spy attaches to every worker first
        measures[name]()
        who = "every gunicorn worker"
    print(f"\n=== profile of {name} ({who}; {profiler.raw}) ===\n{profiler.summary()}")


# --- the run -----------------------------------------------------------------------------------


TARGETS = (
    Target("engine_batch_tps", "pgbench_tpcb_tps", 5.0),
    Target("engine_hot_tps", "engine_batch_tps", 0.8),
    Target("engine_single_tps", "pgbench_tpcb_tps", 0.5),
    Target("api_tps", "api_ceiling_rps", 0.65),
    Target("api_ceiling_rps", "api_bare_rps", None),
)


def main() -> None:
    if not harness.begin("ledger", ONLY, wrk_figures=API_FIGURES):
        return

    measures: dict[str, Callable[..., Sample]] = {}
    server = Server()
    notes: list[str] = []
    try:
        if "pgbench_tpcb_tps" in ONLY:
            log(f"pgbench: initialising {PGBENCH_DATABASE} at scale {PGBENCH_SCALE}")
            pgbench_prepare()
            measures["pgbench_tpcb_tps"] = lambda: pgbench_tps(SECONDS)
        if {"engine_batch_tps", "engine_hot_tps", "engine_single_tps"} & set(ONLY):
            log(f"engine: opening and funding {WALLETS} wallets")
            fixture = engine_prepare()
            engine_measures = {
                "engine_batch_tps": lambda on_start=None: engine_tps(
                    _wallet_to_wallet(fixture), batch=BATCH, callers=BATCH_CALLERS, seconds=SECONDS, label="batch",
                    on_start=on_start),
                "engine_hot_tps": lambda on_start=None: engine_tps(
                    _hot_funding(fixture), batch=BATCH, callers=BATCH_CALLERS, seconds=SECONDS, label="hot",
                    on_start=on_start),
                "engine_single_tps": lambda on_start=None: engine_tps(
                    _wallet_to_wallet(fixture), batch=1, callers=SINGLE_CALLERS, seconds=SECONDS, label="single",
                    on_start=on_start),
            }
            measures.update({name: measure for name, measure in engine_measures.items() if name in ONLY})
        if API_FIGURES & set(ONLY):
            log("api: starting gunicorn (deploy/gunicorn.conf.py, bench.settings)")
            server.start()
            api = api_prepare()
            notes += api.notes
            ping = wrk_script(harness.PING_PATH, api.secret, harness.PING_BODY)
            pings, transfers = table_rows(PING_TABLE), table_rows("ledger_transfer")
            wrk_rps(ping, harness.PING_PATH, 2, pings, server)  # every worker process loads its views
            measures["api_ceiling_rps"] = lambda: wrk_rps(ping, harness.PING_PATH, SECONDS, pings, server)
            bare = wrk_script(BARE_PATH, api.secret, harness.PING_BODY)
            wrk_rps(bare, BARE_PATH, 2, pings, server)
            measures["api_bare_rps"] = lambda: wrk_rps(bare, BARE_PATH, SECONDS, pings, server)
            if api.transfer_bodies:
                transfer = wrk_script("/api/v1/transfers", api.secret, api.transfer_bodies)
                wrk_rps(transfer, "/api/v1/transfers", 2, transfers, server)
                measures["api_tps"] = lambda: wrk_rps(transfer, "/api/v1/transfers", SECONDS, transfers, server)

        samples, loads = harness.rounds({name: measures[name] for name in FIGURES if name in measures}, FIGURES)
        if PROFILE:
            if PYSPY is None:
                log("BENCH_PROFILE: py-spy not found (pip install py-spy, or set BENCH_PYSPY); no profiles")
            else:
                for name in ("engine_batch_tps", "engine_hot_tps", "engine_single_tps", "api_tps",
                             "api_ceiling_rps", "api_bare_rps"):
                    if name in measures:
                        checkpoint()
                        profile(name, measures, server)
    finally:
        server.stop()

    harness.report(
        FIGURES, samples, TARGETS, notes=notes, loads=loads,
        settings_line=f"batch {BATCH} x {BATCH_CALLERS} callers, single x {SINGLE_CALLERS} callers, "
                      f"{API_CLIENTS} HTTP clients, {RUNS} runs of {SECONDS:g} s",
        settings_json={"batch": BATCH, "batch_callers": BATCH_CALLERS, "single_callers": SINGLE_CALLERS,
                       "api_clients": API_CLIENTS, "runs": RUNS, "seconds": SECONDS, "wallets": WALLETS},
    )


if __name__ == "__main__":
    main()
