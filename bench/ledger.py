"""The ledger benchmark: ``make bench`` (``BENCH_QUICK=1 make bench`` for a short run).

Measures, in one run against the same PostgreSQL, the figures below, each ``BENCH_RUNS``
times (3 by default) for ``BENCH_SECONDS`` seconds, rounds interleaved so drift on this noisy
machine spreads over every figure; prints each run, a table of medians with the targets'
ratios and, as its last line, one JSON object.

- ``pgbench_tpcb_tps``: pgbench's built-in TPC-B-like script, 8 clients on 2 threads, on a
  database of its own at scale 10 — one commit per business transaction, this machine's limit
  for anything that commits each transfer.
- ``raw_batch_tps``: the batches of ``engine_batch_tps`` written by plain psycopg2 — no ORM, no
  engine, no rules checked in Python — with the engine's writes (accounts locked in id order,
  a transfer row with a unique client id, two entries, one balance update per touched
  account) on the same tables, so their constraints and triggers run: this schema's write
  limit here. ``engine_batch_tps`` is reported against it as well as against pgbench.
- ``raw_insert_first_tps``: the raw baseline's batches in the order a ledger whose entries carry
  no running balances would allow (README, "Speed: where it stands"): transfers and entries
  inserted before the accounts are locked (``FOR NO KEY UPDATE``, which the transfers' foreign
  keys' share locks do not wait on), then only the balance update inside the locks. Entries are
  written with zero balances, standing in for the columns such a schema drops: the write limit
  that schema change would lift this one to, measured on today's tables.
- ``engine_batch_tps``: ``apps.ledger.engine.post`` with batches of ``BENCH_BATCH`` (1,000)
  transfers between uniform random pairs of 10,000 funded customer wallets (no-overdraft rule
  on), from ``BENCH_BATCH_CALLERS`` (2) processes.
- ``engine_hot_tps``: the same, every transfer debiting one funding account.
- ``sql_single_tps``: ``bench/posting.sql``, the same single posting's SQL from pgbench with
  prepared statements (no Python at all), 8 clients: what this schema costs one posting per
  transaction on this machine.
- ``raw_single_tps``: the raw baseline's writes one transfer per transaction, from as many
  processes as ``engine_single_tps``: what this schema costs a single posting, with no Python
  beyond psycopg2 (two round trips, as the engine's).
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
BENCH_PROFILE=1 (py-spy flame graphs and summaries into bench/profiles/; ``bench.profile``).
"""

import multiprocessing
import os
import random
import re
import secrets
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django
import psycopg2

django.setup()

from django.db import connection, connections  # noqa: E402

from apps.core import clock  # noqa: E402
from apps.core.actors import Actor  # noqa: E402
from apps.core.ids import uuid7  # noqa: E402
from apps.ledger import data, engine  # noqa: E402
from apps.ledger.models import Account  # noqa: E402
from apps.merchants import services as merchant_services  # noqa: E402
from bench import database, harness  # noqa: E402
from bench.harness import (  # noqa: E402
    RUNS,
    SECONDS,
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
from bench.profile import ENABLED as PROFILE  # noqa: E402
from bench.profile import PROFILES, Profiler  # noqa: E402
from bench.urls import BARE_PATH, PING_TABLE  # noqa: E402

BATCH = int(os.environ.get("BENCH_BATCH", "1000"))
BATCH_CALLERS = int(os.environ.get("BENCH_BATCH_CALLERS", "2"))
SINGLE_CALLERS = int(os.environ.get("BENCH_SINGLE_CALLERS", "8"))
API_CLIENTS = harness.API_CLIENTS
WALLETS = int(os.environ.get("BENCH_WALLETS", "10000"))
API_FUNDING_ACCOUNTS = 20
API_WALLETS = 200
PGBENCH_SCALE = 10
# Beside the benchmark's own database (fincore_bench_pgbench by default), so two runs never share one.
PGBENCH_DATABASE = connection.settings_dict["NAME"] + "_pgbench"
WALLET_FUNDS = 10**12  # minor units per wallet: no transfer of the benchmark is ever refused
CURRENCY = "BHD"
ACTOR = Actor.system("bench.ledger")

FIGURES = ("pgbench_tpcb_tps", "raw_batch_tps", "raw_insert_first_tps", "engine_batch_tps", "engine_hot_tps",
           "sql_single_tps", "raw_single_tps", "engine_single_tps", "api_tps", "api_ceiling_rps", "api_bare_rps")
API_FIGURES = {"api_tps", "api_ceiling_rps", "api_bare_rps"}
ONLY = harness.selected(FIGURES)


# --- pgbench -----------------------------------------------------------------------------------


def pgbench_prepare() -> None:
    url = os.environ["FINCORE_DATABASE_URL"].rsplit("/", 1)[0] + "/" + PGBENCH_DATABASE
    database.recreate_database(url)
    env = {**os.environ, "PGPASSWORD": str(pg_params().get("password", ""))}
    subprocess.run(["pgbench", *pg_args(), "-i", "-q", "-s", str(PGBENCH_SCALE), PGBENCH_DATABASE],
                   check=True, capture_output=True, env=env)


def pgbench_tps(seconds: float, *, database: str = PGBENCH_DATABASE, options: tuple[str, ...] = ()) -> Sample:
    """pgbench's built-in TPC-B-like script on its own database, or the script ``options`` name."""
    env = {**os.environ, "PGPASSWORD": str(pg_params().get("password", ""))}
    duration = max(1, round(seconds))
    # -n: a script of our own has no pgbench_* tables to vacuum first.
    command = ["pgbench", *pg_args(), *(("-n",) if options else ()), "-c", "8", "-j", "2", "-T", str(duration),
               *options, database]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    # pgbench's backends end with it: their CPU is read shortly before the end.
    time.sleep(duration * 0.9)
    backends, at, client = backends_cpu(database), time.monotonic() - started, process_cpu(process.pid)
    stdout, stderr = process.communicate()
    if process.returncode:
        raise RuntimeError(f"pgbench failed:\n{stdout}\n{stderr}")
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", stdout)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps:\n{stdout}\n{stderr}")
    tps = float(match.group(1))
    transactions = tps * at
    return Sample(tps, 1000 * client / transactions, 1000 * sum(backends.values()) / transactions)


POSTING_SCRIPT = Path(__file__).with_name("posting.sql")


def sql_single_tps(seconds: float) -> Sample:
    """bench/posting.sql from pgbench, prepared statements, on the benchmark's database."""
    return pgbench_tps(seconds, database=connection.settings_dict["NAME"],
                       options=("-M", "prepared", "-D", f"wallets={WALLETS}", "-f", str(POSTING_SCRIPT)))


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
        # The wallets by number, for bench/posting.sql (sql_single_tps).
        cursor.execute("DROP TABLE IF EXISTS bench_wallets")
        cursor.execute("CREATE TABLE bench_wallets (n int PRIMARY KEY, id uuid NOT NULL, merchant_id uuid NOT NULL)")
        cursor.execute("INSERT INTO bench_wallets SELECT row_number() OVER (ORDER BY id), id, merchant_id "
                       "FROM ledger_account WHERE id = ANY(%s::uuid[])", [[str(w) for w in wallet_ids]])
        cursor.execute("ANALYZE bench_wallets")
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


# A caller's poster, made in its own process from its tag: it posts one batch and returns how
# many transfers were posted and refused; ``backend`` is its PostgreSQL backend's pid.
@dataclass
class Poster:
    post_batch: Callable[[], tuple[int, int]]
    backend: int


def _engine_poster(make: SpecMaker, batch: int) -> Callable[[str], Poster]:
    def start(tag: str) -> Poster:
        rng = random.Random(f"{tag}:{os.getpid()}")
        sequence = 0

        def post_batch() -> tuple[int, int]:
            nonlocal sequence
            specs = [make(rng, f"{tag}:{sequence + n}") for n in range(batch)]
            sequence += batch
            outcomes = engine.post(specs)
            ok = sum(outcome.result == data.Result.OK for outcome in outcomes)
            return ok, len(outcomes) - ok

        for _ in range(max(1, 20 // batch)):
            post_batch()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (backend,) = cursor.fetchone()
        return Poster(post_batch, backend)
    return start


def _caller(start: Callable[[str], Poster], seconds: float, tag: str, barrier: Any, results: Any) -> None:
    """One caller: warm up, wait for the others, then post batches until the time is up."""
    result = WorkerResult()
    try:
        poster = start(tag)
        barrier.wait()
        client_cpu, server_cpu = process_cpu(os.getpid()), process_cpu(poster.backend)
        result.started = time.monotonic()
        deadline = result.started + seconds
        while True:
            posted, refused = poster.post_batch()
            result.posted += posted
            result.refused += refused
            result.finished = time.monotonic()
            if result.finished >= deadline:
                break
        result.client_cpu = process_cpu(os.getpid()) - client_cpu
        result.server_cpu = process_cpu(poster.backend) - server_cpu
    except Exception as error:  # noqa: BLE001 - reported by the parent, which fails the figure
        result.error = repr(error)
        barrier.abort()
    finally:
        connection.close()
        results.put(result)


def engine_tps(make: SpecMaker, *, batch: int, callers: int, seconds: float, label: str,
               on_start: Callable[[list[int]], None] | None = None) -> Sample:
    """Transfers per second of ``callers`` processes each posting batches of ``batch``."""
    return callers_tps(_engine_poster(make, batch), callers=callers, seconds=seconds, label=label, on_start=on_start)


def callers_tps(start: Callable[[str], Poster], *, callers: int, seconds: float, label: str,
                on_start: Callable[[list[int]], None] | None = None) -> Sample:
    """Transfers per second of ``callers`` processes each posting with a poster ``start`` makes."""
    context = multiprocessing.get_context("fork")
    connections.close_all()  # a forked child must open its own connection
    barrier, results = context.Barrier(callers + 1), context.Queue()
    tag = f"{label}-{secrets.token_hex(4)}"
    workers = [
        context.Process(target=_caller, args=(start, seconds, f"{tag}-{n}", barrier, results))
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


# --- the raw baseline ----------------------------------------------------------------------------
# The engine's writes for the same uniform wallet-to-wallet batches, from plain psycopg2: no
# ORM, no engine, no rules checked in Python (PostgreSQL's constraints and triggers still run,
# on the same tables). What this schema can write on this machine.

_LOCK_ACCOUNTS = ("SELECT id, debits_pending, debits_posted, credits_pending, credits_posted FROM ledger_account "
                  "WHERE id = ANY(%(locked)s::uuid[]) ORDER BY id FOR {mode}")
_RAW_LOCK = "BEGIN; " + _LOCK_ACCOUNTS.format(mode="UPDATE")
_RAW_INSERTS = (
    "INSERT INTO ledger_transfer (created_at, id, livemode, merchant_id, client_id, kind, debit_account_id, "
    "credit_account_id, currency, amount, code, reference, metadata, effective_at, created_by) "
    "SELECT %(now)s, t.id, true, %(merchant)s, t.client_id, 'immediate', t.debit, t.credit, %(currency)s, t.amount, "
    "'transfer', '', '{}', %(now)s, 'bench' "
    "FROM unnest(%(ids)s::uuid[], %(client_ids)s::text[], %(debits)s::uuid[], %(credits)s::uuid[], "
    "%(amounts)s::bigint[]) AS t(id, client_id, debit, credit, amount);\n"
    "INSERT INTO ledger_entry (posted_at, account_id, transfer_id, side, pending_change, posted_change, "
    "debits_pending, debits_posted, credits_pending, credits_posted) "
    "SELECT %(now)s, * FROM unnest(%(entry_accounts)s::uuid[], %(entry_transfers)s::uuid[], %(sides)s::text[], "
    "%(zeros)s::bigint[], %(changes)s::bigint[], %(dp)s::bigint[], %(dpo)s::bigint[], %(cp)s::bigint[], "
    "%(cpo)s::bigint[]);\n"
)
_RAW_UPDATE = (
    "UPDATE ledger_account AS a SET last_posted_at = %(now)s, debits_posted = v.dpo, credits_posted = v.cpo "
    "FROM unnest(%(accounts)s::uuid[], %(account_dpo)s::bigint[], %(account_cpo)s::bigint[]) AS v(id, dpo, cpo) "
    "WHERE a.id = v.id;\n"
    "COMMIT"
)
_RAW_WRITE = _RAW_INSERTS + _RAW_UPDATE
# The insert-first order: BEGIN and the inserts ride with the lock, the balance update with COMMIT.
_RAW_INSERT_FIRST = "BEGIN;\n" + _RAW_INSERTS + _LOCK_ACCOUNTS.format(mode="NO KEY UPDATE")


def _literal(values: Any) -> str:
    return "{" + ",".join(map(str, values)) + "}"


def _raw_poster(fixture: EngineFixture, batch: int, *, insert_first: bool = False) -> Callable[[str], Poster]:
    wallets = [wallet.hex for wallet in fixture.wallet_ids]

    def start(tag: str) -> Poster:
        rng = random.Random(f"{tag}:{os.getpid()}")
        conn = psycopg2.connect(**connection.get_connection_params())
        conn.autocommit = True  # BEGIN and COMMIT are sent with the statements, as the engine does
        cursor = conn.cursor()
        sequence = 0

        def post_batch() -> tuple[int, int]:
            nonlocal sequence
            pairs = [rng.sample(wallets, 2) for _ in range(batch)]
            amounts = [rng.randint(1, 10_000) for _ in range(batch)]
            ids = [uuid7().hex for _ in range(batch)]
            rows = {
                "now": clock.now(), "merchant": fixture.merchant_id.hex, "currency": CURRENCY,
                "ids": _literal(ids), "client_ids": [f"{tag}:{sequence + n}" for n in range(batch)],
                "debits": _literal(d for d, _ in pairs), "credits": _literal(c for _, c in pairs),
                "amounts": _literal(amounts), "locked": _literal(sorted({a for pair in pairs for a in pair})),
            }
            sequence += batch
            if insert_first:
                entries = _raw_entries(pairs, amounts, ids, None)
                cursor.execute(_RAW_INSERT_FIRST, {**rows, **entries})
                balances = _raw_balances(cursor.fetchall())
                for (debit, credit), amount in zip(pairs, amounts, strict=True):
                    balances[debit][1] += amount
                    balances[credit][3] += amount
                cursor.execute(_RAW_UPDATE, {**rows, **_raw_accounts(balances)})
            else:
                cursor.execute(_RAW_LOCK, rows)
                balances = _raw_balances(cursor.fetchall())
                entries = _raw_entries(pairs, amounts, ids, balances)
                cursor.execute(_RAW_WRITE, {**rows, **entries, **_raw_accounts(balances)})
            return batch, 0

        post_batch()
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
        return Poster(post_batch, backend)
    return start


def _raw_balances(locked: list[tuple]) -> dict[str, list[int]]:
    return {account.hex: [dp, dpo, cp, cpo] for account, dp, dpo, cp, cpo in locked}


def _raw_entries(pairs: list[list[str]], amounts: list[int], ids: list[str],
                 balances: dict[str, list[int]] | None) -> dict[str, str]:
    """The batch's entries as array literals, each with its account's balances after it (which
    it moves); with no ``balances`` (insert-first), zeros."""
    entry_accounts, entry_transfers, sides, changes, dp, dpo, cp, cpo = [], [], [], [], [], [], [], []
    zero = (0, 0, 0, 0)
    for (debit, credit), amount, transfer_id in zip(pairs, amounts, ids, strict=True):
        if balances is not None:
            balances[debit][1] += amount
            balances[credit][3] += amount
        for account, side in ((debit, "D"), (credit, "C")):
            state = balances[account] if balances is not None else zero
            entry_accounts.append(account)
            entry_transfers.append(transfer_id)
            sides.append(side)
            changes.append(amount)
            dp.append(state[0])
            dpo.append(state[1])
            cp.append(state[2])
            cpo.append(state[3])
    return {
        "entry_accounts": _literal(entry_accounts), "entry_transfers": _literal(entry_transfers),
        "sides": _literal(sides), "zeros": _literal([0] * len(sides)), "changes": _literal(changes),
        "dp": _literal(dp), "dpo": _literal(dpo), "cp": _literal(cp), "cpo": _literal(cpo),
    }


def _raw_accounts(balances: dict[str, list[int]]) -> dict[str, str]:
    return {"accounts": _literal(balances), "account_dpo": _literal(b[1] for b in balances.values()),
            "account_cpo": _literal(b[3] for b in balances.values())}


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


def profile(name: str, measures: dict[str, Callable[..., Sample]], server: Server) -> None:
    """The figure once more, py-spy on it: bench/profiles/NAME.svg and .txt (bench.profile)."""
    profiler = Profiler(name, SECONDS)
    if name.startswith("engine_"):
        measures[name](on_start=lambda pids: profiler.attach("caller", pids[0]))
        who = "one of its caller processes"
    else:
        assert server.process is not None
        profiler.attach("gunicorn", server.process.pid)
        time.sleep(1)  # py-spy attaches to every worker first
        measures[name]()
        who = "every gunicorn worker"
    print(f"\n=== profile of {name} ({who}; {PROFILES}/{name}.svg) ===\n{profiler.finish()}")


# --- the run -----------------------------------------------------------------------------------


TARGETS = (
    Target("raw_batch_tps", "pgbench_tpcb_tps", None),
    Target("raw_insert_first_tps", "pgbench_tpcb_tps", None),
    Target("raw_insert_first_tps", "raw_batch_tps", None),
    Target("engine_batch_tps", "pgbench_tpcb_tps", 3.5),
    Target("engine_batch_tps", "raw_batch_tps", 0.8),
    Target("engine_hot_tps", "engine_batch_tps", 0.9),
    Target("sql_single_tps", "pgbench_tpcb_tps", None),
    Target("raw_single_tps", "pgbench_tpcb_tps", None),
    Target("engine_single_tps", "pgbench_tpcb_tps", 0.75),
    Target("engine_single_tps", "raw_single_tps", None),
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
        if {"raw_batch_tps", "raw_insert_first_tps", "engine_batch_tps", "engine_hot_tps", "sql_single_tps",
                "raw_single_tps", "engine_single_tps"} & set(ONLY):
            log(f"engine: opening and funding {WALLETS} wallets")
            fixture = engine_prepare()
            engine_measures = {
                "raw_batch_tps": lambda: callers_tps(
                    _raw_poster(fixture, BATCH), callers=BATCH_CALLERS, seconds=SECONDS, label="raw"),
                "raw_insert_first_tps": lambda: callers_tps(
                    _raw_poster(fixture, BATCH, insert_first=True), callers=BATCH_CALLERS, seconds=SECONDS,
                    label="raw-insert-first"),
                "engine_batch_tps": lambda on_start=None: engine_tps(
                    _wallet_to_wallet(fixture), batch=BATCH, callers=BATCH_CALLERS, seconds=SECONDS, label="batch",
                    on_start=on_start),
                "engine_hot_tps": lambda on_start=None: engine_tps(
                    _hot_funding(fixture), batch=BATCH, callers=BATCH_CALLERS, seconds=SECONDS, label="hot",
                    on_start=on_start),
                "sql_single_tps": lambda: sql_single_tps(SECONDS),
                "raw_single_tps": lambda: callers_tps(
                    _raw_poster(fixture, 1), callers=SINGLE_CALLERS, seconds=SECONDS, label="raw-single"),
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
            for name in ("engine_batch_tps", "engine_hot_tps", "engine_single_tps", "api_tps", "api_ceiling_rps",
                         "api_bare_rps"):
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
