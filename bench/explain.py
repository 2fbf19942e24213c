"""``python -m bench.explain``: where a batch's time goes inside the posting engine.

Two reports, on the benchmark's database (``make bench`` fills it; run that first):

- ``phases``: posts ``BENCH_EXPLAIN_BATCHES`` batches of ``BENCH_BATCH`` wallet-to-wallet
  transfers through ``engine.post`` with each step of ``engine._post_once`` timed (the engine's
  own helpers, wrapped — nothing re-implemented); what is left over is BEGIN, COMMIT (with the
  deferred foreign-key checks) and the Python between the steps.
- ``plans``: one batch with every statement run under ``EXPLAIN (ANALYZE, BUFFERS)`` — the
  SELECT of existing client ids, the lock query, the inserts and the UPDATE ... FROM VALUES —
  in a transaction that is rolled back afterwards, so it leaves nothing behind.

``python -m bench.explain phases`` or ``plans``; both without an argument. Without the
benchmark's wallets in the database (``make bench`` leaves them), it opens them first.
"""

import os
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from apps.ledger import data, domain, engine  # noqa: E402
from apps.ledger.models import Account  # noqa: E402

BATCH = int(os.environ.get("BENCH_BATCH", "1000"))
BATCHES = int(os.environ.get("BENCH_EXPLAIN_BATCHES", "10"))


def _wallets() -> tuple[Any, list[Any]]:
    wallets = list(
        Account.objects.filter(code=Account.Code.WALLET, reference__startswith="bench-wallet-")
        .values_list("merchant_id", "id")
    )
    if not wallets:
        from bench.ledger import engine_prepare

        fixture = engine_prepare()
        return fixture.merchant_id, fixture.wallet_ids
    return wallets[0][0], [account_id for _, account_id in wallets]


def _specs(merchant_id: Any, wallets: list[Any], size: int, rng: random.Random) -> list[data.TransferSpec]:
    tag = f"explain-{time.time_ns()}"
    specs = []
    for n in range(size):
        debit, credit = rng.sample(wallets, 2)
        specs.append(data.TransferSpec(
            client_id=f"{tag}:{n}", debit_account_id=debit, credit_account_id=credit, amount=rng.randint(1, 10_000),
            currency="BHD", merchant_id=merchant_id, code="transfer", created_by="bench"))
    return specs


def phases(batch: int = BATCH, batches: int = BATCHES) -> dict[str, float]:
    """Mean milliseconds per batch of each step of engine._post_once."""
    merchant_id, wallets = _wallets()
    rng = random.Random(1)
    spent: dict[str, list[float]] = defaultdict(list)
    current: dict[str, float] = defaultdict(float)

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                current[name] += time.perf_counter() - started
        return wrapper

    originals = {
        "_existing": engine._existing, "_transfers": engine._transfers, "_lock_accounts": engine._lock_accounts,
        "_consumed": engine._consumed, "_write": engine._write,
    }
    original_plan = engine.domain.plan_batch
    engine._existing = timed("select existing client ids", engine._existing)
    engine._transfers = timed("select referenced transfers", engine._transfers)
    engine._lock_accounts = timed("lock accounts (SELECT ... FOR UPDATE)", engine._lock_accounts)
    engine._consumed = timed("select resolved/reversed", engine._consumed)
    engine.domain.plan_batch = timed("plan (domain.plan_batch, Python)", original_plan)
    engine._write = timed("write transfers, entries, balances", engine._write)
    try:
        for _ in range(batches + 1):
            specs = _specs(merchant_id, wallets, batch, rng)
            current.clear()
            started = time.perf_counter()
            outcomes = engine.post(specs)
            total = time.perf_counter() - started
            assert all(outcome.result == data.Result.OK for outcome in outcomes)
            current["rest: BEGIN, COMMIT, Python between steps"] = total - sum(current.values())
            current["total"] = total
            for name, seconds in current.items():
                spent[name].append(seconds)
    finally:
        for name, function in originals.items():
            setattr(engine, name, function)
        engine.domain.plan_batch = original_plan
    # The first batch warms caches and connections: left out.
    return {name: statistics.mean(values[1:]) * 1000 for name, values in spent.items()}


class _ExplainingCursor:
    """Runs each statement under EXPLAIN ANALYZE first; SELECTs then run again for their rows.
    Stands in for the engine's session: the transaction is ``plans``' own, rolled back, so the
    engine's closing statement is none."""

    closing = ""

    def __init__(self, cursor: Any, out: list[str]) -> None:
        self._cursor, self._out = cursor, out
        self.connection = cursor.connection

    def mogrify(self, *args: Any) -> bytes:
        return self._cursor.mogrify(*args)

    def execute(self, sql: Any, params: Any = None) -> None:
        text = sql.decode() if isinstance(sql, bytes) else sql
        if params is None and ";\n" in text:  # the engine's writes: several statements in one string
            for statement in filter(None, text.split(";\n")):
                self.execute(statement)
            return
        self._cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + text, params)
        head = " ".join(text.split())[:160]
        self._out.append(f"--- {head}{' ...' if len(text) > 160 else ''}")
        # Long literals (the batch's ids) say nothing about the plan.
        self._out += [row[0] if len(row[0]) < 200 else row[0][:200] + " ..." for row in self._cursor.fetchall()]
        if text.lstrip().upper().startswith("SELECT"):
            self._cursor.execute(sql, params)

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()


def plans(batch: int = BATCH) -> list[str]:
    merchant_id, wallets = _wallets()
    specs = _specs(merchant_id, wallets, batch, random.Random(2))
    out: list[str] = []
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = _ExplainingCursor(wrapper.cursor, out)
        existing = engine._existing(cursor, specs)
        account_ids = {a for spec in specs for a in (spec.debit_account_id, spec.credit_account_id)}
        accounts, _, _ = engine._lock_accounts(cursor, account_ids)
        now = engine.clock.now()
        plan = domain.plan_batch(specs, accounts=accounts, known={}, existing=existing, resolved_pending_ids=set(),
                                 reversed_ids=set(), now=now, new_id=engine.uuid7)
        engine._write(cursor, plan, now)
        transaction.set_rollback(True)
    return out


def main() -> None:
    which = sys.argv[1:] or ["phases", "plans"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_transfer")
        (transfers,) = cursor.fetchone()
    print(f"ledger_transfer holds {transfers:,} rows; batches of {BATCH}")
    if "phases" in which:
        print(f"\nmean per batch of {BATCH} over {BATCHES} batches (one caller):")
        for name, ms in phases().items():
            print(f"  {name:<45} {ms:9.2f} ms  {ms * 1000 / BATCH:8.1f} us/transfer")
    if "plans" in which:
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) of one batch of {BATCH} (rolled back):")
        print("\n".join(plans()))


if __name__ == "__main__":
    main()
