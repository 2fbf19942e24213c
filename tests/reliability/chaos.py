"""``make chaos`` (``python -m tests.reliability.chaos``): payments and transfers streamed through
the API while PostgreSQL and RabbitMQ restart and workers and web processes are killed; then
what must hold after any crash is checked.

It starts a PostgreSQL cluster and a RabbitMQ node of its own (``tests.reliability.services``:
never the machine's shared ones, which other test runs use), a Redis database of its own (db 9 of
the local Redis, emptied before and after), migrates, and runs fincore's processes on them as
``make run`` does (``tests.reliability.stack``), supervised. A merchant with a test key, a
funding account and a wallet are made; then client threads (``tests.reliability.stream``) send
card payments (``tok_success``, automatic capture) and funding → wallet transfers, each with an
Idempotency-Key of its own, retried with the same key until acknowledged, while the faults of
``tests.reliability.faults`` strike one after the other. When the stream ends it waits up to 3
minutes for every payment to be final and checks (``tests.reliability.checks``): every
acknowledged payment final, one payment per Idempotency-Key, every customer charged once at the
connectors, every acknowledged transfer stored once, the merchant's pending balance equal to
what was captured, ``ledger_verify`` and ``audit_verify``. It prints the figures and exits 1
naming each check that failed (2 when the run itself could not go on).

Everything it started is stopped, and its temporary directory removed, however it ends (Ctrl-C,
SIGTERM, a failure). Logs of every process: ``var/chaos/``.

Options and their environment variables: ``python -m tests.reliability.chaos --help``.
"""

import argparse
import io
import json
import os
import random
import secrets
import shutil
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis

from bench import processes
from tests.reliability import faults as chaos_faults
from tests.reliability.services import Postgres, RabbitMQ, ServiceFailed, free_port, leftovers_remove, run_directory
from tests.reliability.stack import ROOT, Stack
from tests.reliability.stream import Stream, api_call

if TYPE_CHECKING:
    from tests.reliability import checks

LOG_DIR = ROOT / "var" / "chaos"
SETTINGS = "fincore.settings.development"
CARD_ACQUIRERS = ("acquirer_alpha", "acquirer_beta")
MERCHANT = "Chaos Trading W.L.L."


@dataclass(frozen=True)
class Options:
    seconds: float
    clients: int
    rate: float
    faults: list[str]
    down_seconds: float
    latency_ms: int
    final_within: float
    request_deadline: float
    redis_url: str
    seed: int


def options(argv: list[str] | None) -> Options:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.chaos",
                                     description=__doc__.split("\n\n")[0].replace("\n", " "))
    option = parser.add_argument
    option("--seconds", type=float, default=float(env("CHAOS_SECONDS", "90")),
           help="how long the clients send (CHAOS_SECONDS, 90)")
    option("--clients", type=int, default=int(env("CHAOS_CLIENTS", "8")), help="client threads (CHAOS_CLIENTS, 8)")
    option("--rate", type=float, default=float(env("CHAOS_RATE", "10")),
           help="requests a second, all clients together (CHAOS_RATE, 10)")
    option("--faults", default=env("CHAOS_FAULTS", ",".join(chaos_faults.DEFAULT)),
           help=f"comma-separated, spread over the stream (CHAOS_FAULTS); of {', '.join(chaos_faults.NAMES)}; "
                f"default {','.join(chaos_faults.DEFAULT)}")
    option("--down-seconds", type=float, default=float(env("CHAOS_DOWN_SECONDS", "3")),
           help="how long PostgreSQL and RabbitMQ stay down (CHAOS_DOWN_SECONDS, 3)")
    option("--latency-ms", type=int, default=int(env("CHAOS_CONNECTOR_LATENCY_MS", "100")),
           help="the sandbox card acquirers' latency (CHAOS_CONNECTOR_LATENCY_MS, 100)")
    option("--final-within", type=float, default=float(env("CHAOS_FINAL_WITHIN", "180")),
           help="seconds after the stream by which every payment must be final (CHAOS_FINAL_WITHIN, 180)")
    option("--request-deadline", type=float, default=float(env("CHAOS_REQUEST_DEADLINE", "120")),
           help="seconds a client retries one request before it gives up (CHAOS_REQUEST_DEADLINE, 120)")
    option("--redis-url", default=env("CHAOS_REDIS_URL", "redis://127.0.0.1:6379/9"),
           help="the run's own Redis database, emptied before and after (CHAOS_REDIS_URL, db 9)")
    option("--seed", type=int, default=int(env("CHAOS_SEED", "0")) or random.randrange(1, 1_000_000),
           help="of the clients' choices and the faults' victims (CHAOS_SEED; random)")
    parsed = parser.parse_args(argv)
    names = [name.strip() for name in parsed.faults.split(",") if name.strip()]
    if unknown := [name for name in names if name not in chaos_faults.NAMES]:
        parser.error(f"unknown faults {unknown}; known: {', '.join(chaos_faults.NAMES)}")
    if parsed.seconds <= 0 or parsed.clients <= 0 or parsed.rate <= 0:
        parser.error("--seconds, --clients and --rate must be positive")
    return Options(parsed.seconds, parsed.clients, parsed.rate, names, parsed.down_seconds, parsed.latency_ms,
                   parsed.final_within, parsed.request_deadline, parsed.redis_url, parsed.seed)


class Clock:
    """Seconds since the stream started (before it: since the run started, negative)."""

    def __init__(self) -> None:
        self.origin = time.monotonic()

    def start_stream(self) -> None:
        self.origin = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.origin


CLOCK = Clock()


def say(message: str) -> None:
    # UTC, as the database's timestamps in the checks' evidence (Django sets this process's TZ).
    sys.stdout.write(f"chaos {time.strftime('%H:%M:%S', time.gmtime())}Z t{CLOCK():+7.1f}s  {message}\n")
    sys.stdout.flush()


def environment(postgres: Postgres, rabbitmq: RabbitMQ, redis_url: str) -> dict[str, str]:
    """What every process of the run reads: the run's own services, never the shared ones."""
    return {
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "FINCORE_DATABASE_URL": postgres.url,
        "FINCORE_BROKER_URL": rabbitmq.url,
        "FINCORE_REDIS_URL": redis_url,
        # Clients retry in bursts after an outage; a 429 would only slow them down.
        "FINCORE_API_RATE_LIMIT": "100000/second",
        "FINCORE_LOG_LEVEL": "INFO",
        "PROMETHEUS_MULTIPROC_DIR": str(LOG_DIR / "prometheus"),
        # The run starts a new database, so a new chain: anchors of an earlier run would contradict it.
        "FINCORE_AUDIT_ANCHOR_DIR": str(LOG_DIR / "audit-anchors"),
    }


def prepare(opts: Options) -> tuple[str, str]:
    """The database migrated, the card acquirers at the run's latency, a merchant; returns the
    merchant's id and test secret key."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("db_create", stdout=io.StringIO())
    call_command("migrate", interactive=False, verbosity=0)
    for name in CARD_ACQUIRERS:
        call_command("connector_configure", name, "--latency-ms", str(opts.latency_ms), "--enable",
                     "--reason", "make chaos: the run's connector latency", stdout=io.StringIO())
    created = io.StringIO()
    call_command("merchant_create", "--name", MERCHANT, "--currency", "BHD", "--json", stdout=created)
    merchant = json.loads(created.getvalue().strip().splitlines()[-1])
    return merchant["merchant_id"], merchant["secret_key"]


def open_accounts(base_url: str, secret: str, tag: str) -> tuple[str, str]:
    """A funding account (may go negative) and a wallet, through the API."""
    opened = []
    for reference, overdraft in (("chaos-funding", True), ("chaos-wallet", False)):
        status, body, _ = api_call(base_url, secret, "POST", "/api/v1/accounts",
                                   {"currency": "BHD", "reference": reference, "allow_overdraft": overdraft},
                                   key=f"chaos-{tag}-{reference}")
        if status != 201:
            raise RuntimeError(f"POST /api/v1/accounts answered {status}: {body}")
        opened.append(body["id"])
    return opened[0], opened[1]


def supervise(stack: Stack) -> None:
    for name in stack.supervise():
        say(f"supervisor: restarted {name}")


def run_stream(opts: Options, stream: Stream, stack: Stack, injector: chaos_faults.Faults) -> None:
    """The stream, with the faults at their times, while every process is kept running."""
    plan = chaos_faults.schedule(opts.faults, opts.seconds)
    CLOCK.start_stream()
    stream.start()
    say(f"stream: {opts.clients} clients, {opts.rate:g} requests/s for {opts.seconds:g} s; faults at "
        + (", ".join(f"{at:.0f}s {name}" for at, name in plan) or "none"))
    while stream.running:
        supervise(stack)
        if plan and CLOCK() >= plan[0][0]:
            _, name = plan.pop(0)
            fault = injector.inject(name)
            say(f"fault {fault.name}: {fault.detail} ({fault.took:.1f} s)")
        time.sleep(0.05)
    for _, name in plan:
        say(f"fault {name}: not injected, the stream ended first")
    stream.join()


def report(opts: Options, stream: Stream, stack: Stack, injector: chaos_faults.Faults,
           findings: "checks.Findings") -> None:
    figures = findings.figures
    retries = ", ".join(f"{reason} {count}" for reason, count in stream.retries.most_common()) or "none"
    exits = ", ".join(f"{exit.name} {exit.returncode} at {exit.at:.0f}s" for exit in stack.exits) or "none"
    statuses = ", ".join(f"{status} {count}" for status, count in sorted(figures.get("payment_statuses", {}).items()))
    failures = ", ".join(f"{code} {count}" for code, count in sorted(figures.get("failure_codes", {}).items()))
    rows = [
        ("stream", f"{opts.seconds:g} s, {opts.clients} clients, {opts.rate:g} requests/s, seed {opts.seed}"),
        ("faults", f"{len(injector.done)}: " + ", ".join(f.name for f in injector.done)),
        ("payments acknowledged", str(figures.get("acknowledged_payments"))),
        ("transfers acknowledged", str(figures.get("acknowledged_transfers"))),
        ("requests given up", str(len(stream.abandoned))),
        ("retries", retries),
        ("payments final", f"{figures.get('final')} of {figures.get('acknowledged_payments')} acknowledged "
                           f"({figures.get('payments')} in all: {statuses}"
                           f"{'; failed: ' + failures if failures else ''})"),
        ("all final after", f"{figures.get('drain_s')} s after the stream (limit {opts.final_within:g} s)"),
        ("longest ack → final", f"{figures.get('longest_to_final_s')} s: acknowledged "
                                f"{figures.get('slowest_acknowledged_at')}, {figures.get('slowest_payment')}"),
        ("payments per key", f"at most {figures.get('payments_per_key_max')}"),
        ("transfers stored", f"{figures.get('transfers')} for {figures.get('acknowledged_transfers')} acknowledged"),
        ("pending balance", f"{_bhd(figures.get('pending_balance'))} BHD; "
                            f"captured {_bhd(figures.get('captured'))} BHD"),
        ("interrupted attempts", f"{figures.get('attempts_interrupted')}: the connector had "
                                 f"{figures.get('interrupted_received')}, "
                                 f"{figures.get('interrupted_resent')} never reached it and were sent again "
                                 f"(pool processes killed mid-call: {injector.mid_call_kills}); "
                                 f"attempts unknown {figures.get('attempts_unknown')}, "
                                 f"payments re-driven {figures.get('payments_redriven')}"),
        ("connector approvals", str(figures.get("connector_approvals"))),
        ("process exits", exits),
    ]
    width = max(len(name) for name, _ in rows)
    out = ["", "chaos figures"]
    out += [f"  {name:<{width}}  {value}" for name, value in rows]
    out += ["", "checks"]
    out += [f"  {'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}" for check in findings.checks]
    if internal := sum(count for reason, count in stream.retries.items() if reason.startswith("500")):
        out += ["", f"note: {internal} answers were 500 (retried): a service being down should answer 503; "
                    f"their tracebacks are in {LOG_DIR / 'web.log'}"]
    failed = findings.failed
    out += ["", f"chaos: {'PASSED' if not failed else 'FAILED: ' + '; '.join(check.name for check in failed)}"]
    sys.stdout.write("\n".join(out) + "\n")
    summary = {**figures, "faults": [f.name for f in injector.done], "seed": opts.seed,
               "abandoned": len(stream.abandoned), "failed_checks": [check.name for check in failed]}
    sys.stdout.write(json.dumps(summary, default=str) + "\n")


def _bhd(fils: int | None) -> str:
    return "—" if fils is None else f"{fils / 1000:,.3f}"


def main(argv: list[str] | None = None) -> int:
    opts = options(argv)
    processes.exit_on_signals()
    shutil.rmtree(LOG_DIR, ignore_errors=True)
    (LOG_DIR / "prometheus").mkdir(parents=True)
    leftovers_remove(say)
    root = run_directory()
    postgres, rabbitmq = Postgres(root, port=free_port()), RabbitMQ(root, LOG_DIR)
    cache = redis.Redis.from_url(opts.redis_url)
    stack: Stack | None = None
    stream: Stream | None = None
    try:
        say(f"own services in {root}: PostgreSQL on port {postgres.port}, RabbitMQ node {rabbitmq.node} on port "
            f"{rabbitmq.port}, Redis {opts.redis_url}; logs in {LOG_DIR}")
        postgres.create()
        postgres.start()
        rabbitmq.create()
        rabbitmq.start()
        cache.flushdb()
        env = environment(postgres, rabbitmq, opts.redis_url)
        # This process reads the same database, quietly.
        os.environ.update({**env, "FINCORE_LOG_LEVEL": "WARNING"})
        say(f"migrating; card acquirers at {opts.latency_ms} ms; a merchant")
        merchant_id, secret = prepare(opts)
        stack = Stack(env={**os.environ, **env}, log_dir=LOG_DIR, port=free_port(), clock=CLOCK)
        say("starting gunicorn (2 workers), the payments worker, the other worker and beat")
        stack.start()
        tag = secrets.token_hex(3)
        funding, wallet = open_accounts(stack.base_url, secret, tag)
        rng = random.Random(opts.seed)
        stream = Stream(base_url=stack.base_url, secret=secret, funding=funding, wallet=wallet, clients=opts.clients,
                        rate=opts.rate, seconds=opts.seconds, request_deadline=opts.request_deadline, tag=tag,
                        seed=opts.seed)
        injector = chaos_faults.Faults(stack, postgres, rabbitmq, down_seconds=opts.down_seconds, clock=CLOCK, rng=rng,
                                       tick=lambda: supervise(stack))
        from tests.reliability import checks

        since = checks.now()
        run_stream(opts, stream, stack, injector)
        say(f"stream over: {len(stream.of_kind('payment'))} payments and {len(stream.of_kind('transfer'))} transfers "
            f"acknowledged, {len(stream.abandoned)} given up, {len(stream.failures)} refused")
        from apps.core import ids

        merchant_uuid = ids.decode("mer", merchant_id)
        waited = checks.wait_final(merchant_uuid, say, within=opts.final_within,
                                   tick=lambda: supervise(stack))
        findings = checks.verify(merchant_id=merchant_uuid, stream=stream, base_url=stack.base_url, secret=secret,
                                 waited=waited, within=opts.final_within, since=since)
        report(opts, stream, stack, injector, findings)
        if findings.failed:
            dump = LOG_DIR / "fincore_chaos.dump"
            postgres.dump(dump)
            say(f"the database is kept for a post-mortem: pg_restore -d <database> {dump}")
        return 1 if findings.failed else 0
    except (ServiceFailed, RuntimeError, redis.RedisError) as error:
        say(f"the run could not go on: {error}")
        return 2
    finally:
        say("stopping everything it started")
        if stream is not None:
            stream.stop()
        if stack is not None:
            stack.stop()
        with suppress(ServiceFailed):
            rabbitmq.stop()
        if postgres.running:
            with suppress(ServiceFailed):
                postgres.stop("fast")
        with suppress(OSError):
            shutil.copy(postgres.log_path, LOG_DIR / "postgresql.log")
        shutil.rmtree(root, ignore_errors=True)
        with suppress(redis.RedisError):
            cache.flushdb()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted: everything it started is stopped")
        sys.exit(130)
