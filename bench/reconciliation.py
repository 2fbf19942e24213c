"""Matching's benchmark: 100,000 statement lines against 100,000 expectations on one nostro, by
``matching_run`` with the default rules, beside PostgreSQL's plain join on (reference, amount) over
the same rows, in the same run.

The rows are made once per run in a database of their own (``fincore_bench_matching``), written
with COPY: 78,000 lines settling one expectation each by reference and amount (rule 2), 10,000
by end-to-end id (rule 1), 5,000 settling a batch of two expectations by its group key (rule 3),
2,000 with the reference inside other text, a fee taken off and the counterparty spelt another
way (rule 4), and 5,000 nothing expected. Expectations are declared by staff (no ledger postings:
the figure is matching's). Each of ``BENCH_RUNS`` rounds times the join (its second run), then
the matching run, then undoes the matches (deletes them, reopens the expectations, VACUUM
ANALYZE), then times the same writes in raw SQL and undoes them. Medians are reported; the target
(issue 12) is matching ≤ 3 x the join.

The join reads; matching must also write 100,000 matches, their 95,000 line rows and 100,000
expectation rows, and update 100,000 expectations, and at commit PostgreSQL checks the five
foreign keys of every row written. So beside the join the benchmark times a second baseline:
``writes_ms``, the very rows the first matching run wrote (kept aside in ``bench_writes_*``
tables), inserted by three INSERT … SELECT and the expectations settled by one UPDATE, in one
committed transaction, by raw SQL with no matching at all. ``join + writes`` is what a raw SQL
matcher could not go below; the second ratio is matching against it.

A third figure, ``floor_ms``, is the least *any* durable matcher writes, in any schema: the
(reference, amount) pairs copied into two bare tables, then, committed, one narrow link row per
matched pair (line id, expectation id: a primary key and nothing else) and each matched
expectation's state set. It shows whether the 3 x target can be met by writing less: when
``floor_ms`` alone is above 3 x the join, no matcher that records its matches can meet it.
"""

import io
import json
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from uuid import uuid4

os.environ.setdefault("FINCORE_BENCH_DATABASE_URL",
                      "postgres://postgres@127.0.0.1:5432/fincore_bench")
os.environ["FINCORE_BENCH_DATABASE_URL"] = os.environ.get(
    "BENCH_MATCHING_DATABASE_URL", os.environ["FINCORE_BENCH_DATABASE_URL"] + "_matching")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
LINES = int(os.environ.get("BENCH_MATCHING_LINES", "20000" if QUICK else "100000"))
SEED = int(os.environ.get("BENCH_MATCHING_SEED", "1"))
NOSTRO = "bench-bhd-01"
DAY = date(2031, 4, 7)
NAMES = ["Acme Trading W.L.L.", "Gulf Pearl Foods B.S.C.", "Manama Motors", "Seef Electronics W.L.L.",
         "Al Noor Pharmacy", "Riffa Bakery", "Budaiya Gardens Co.", "Muharraq Marine Supplies"]


def _prepare() -> dict[str, int]:
    from django.core.management import call_command
    from django.db import connection

    from apps.core import clock
    from apps.reconciliation.models import BankStatement
    from apps.treasury.models import NostroAccount
    from bench.database import recreate_database

    recreate_database(os.environ["FINCORE_BENCH_DATABASE_URL"])
    connection.close()
    call_command("migrate", interactive=False, verbosity=0)
    NostroAccount.objects.create(code=NOSTRO, currency="BHD", bank_name="Bench bank", bic="NBOBBHBM",
                                 iban="BH67BMAG00001299123456", account_name="Fincore B.S.C.")
    statement = BankStatement.objects.create(
        nostro_id=NOSTRO, format="camt.053", statement_id="BENCH-1", account="BH67BMAG00001299123456",
        currency="BHD", file_name="bench.xml", sha256="0" * 64, content=b"", imported_at=clock.now(),
        imported_by="bench")
    rng = random.Random(SEED)
    scale = LINES / 100_000
    counts = {"reference": int(78_000 * scale), "end_to_end": int(10_000 * scale), "batches": int(5_000 * scale),
              "fuzzy": int(2_000 * scale)}
    counts["unexpected"] = LINES - sum(counts.values())
    lines, expectations = io.StringIO(), io.StringIO()
    now = clock.now().isoformat()
    position = 0

    def line(amount: int, day: date, reference: str = "", e2e: str = "", name: str = "", description: str = ""):
        nonlocal position
        position += 1
        lines.write(f"{statement.pk}\t{position}\t{amount}\tBHD\t{day}\t{reference}\t{e2e}\t{name}\t{description}\t\t\n")

    def expect(amount: int, day: date, reference: str = "", e2e: str = "", name: str = "", group: str = ""):
        expectations.write(f"{uuid4()}\t{NOSTRO}\tBHD\t{amount}\t{day}\t0\t0\tstaff\tb{position}-{uuid4().hex[:8]}\t"
                           f"{reference}\t{e2e}\t{name}\t{group}\tunreconciled\t0\t{now}\t\t{{}}\t{now}\tbench\n")

    for n in range(counts["reference"]):
        amount, day = rng.randint(1, 5_000_000) * rng.choice((1, -1)), DAY + timedelta(days=rng.randint(0, 20))
        expect(amount, day, reference=f"INV-{n:07d}")
        line(amount, day + timedelta(days=rng.randint(-2, 2)), reference=f"INV-{n:07d}")
    for n in range(counts["end_to_end"]):
        amount, day = -rng.randint(1, 5_000_000), DAY + timedelta(days=rng.randint(0, 20))
        expect(amount, day, e2e=f"E2E-{n:08d}")
        line(amount, day + timedelta(days=1), e2e=f"E2E-{n:08d}", reference=f"PAYOUT {n}")
    for n in range(counts["batches"]):
        parts, day = [rng.randint(1, 900_000) for _ in range(2)], DAY + timedelta(days=rng.randint(0, 20))
        for amount in parts:
            expect(amount, day, group=f"BATCH-{n:06d}")
        line(sum(parts), day + timedelta(days=1), reference=f"BATCH-{n:06d}")
    for n in range(counts["fuzzy"]):
        amount, day, name = rng.randint(100_000, 5_000_000), DAY + timedelta(days=rng.randint(0, 20)), rng.choice(NAMES)
        expect(amount, day, reference=f"SET{n:06d}", name=name)
        line(amount - amount // 500, day + timedelta(days=2), reference="", name=name.upper().replace(".", ""),
             description=f"/RFB/SET{n:06d}/FEE DEDUCTED")
    for n in range(counts["unexpected"]):
        line(rng.randint(1, 5_000_000), DAY + timedelta(days=rng.randint(0, 20)), reference=f"UNKNOWN-{n:06d}")
    with connection.cursor() as cursor:
        lines.seek(0)
        cursor.copy_expert("COPY reconciliation_bankstatementline (statement_id, position, amount, currency, "
                           "booking_date, reference, end_to_end_id, counterparty_name, description, bank_reference, "
                           "counterparty_account) FROM STDIN", lines)
        expectations.seek(0)
        cursor.copy_expert("COPY reconciliation_expectation (id, nostro_code, currency, amount, expected_date, "
                           "date_tolerance_days, amount_tolerance, source, source_id, reference, end_to_end_id, "
                           "counterparty_name, group_key, state, reconciled_amount, missing_after, description, "
                           "metadata, created_at, created_by) FROM STDIN", expectations)
    _vacuum()
    return counts


def _vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE reconciliation_bankstatementline, reconciliation_expectation, "
                       "reconciliation_match, reconciliation_matchline, reconciliation_matchexpectation")
        cursor.execute("CHECKPOINT")


def _join_ms() -> tuple[float, int]:
    from django.db import connection

    query = ("SELECT count(*) FROM reconciliation_bankstatementline l JOIN reconciliation_expectation e "
             "ON e.reference = l.reference AND e.amount = l.amount")
    with connection.cursor() as cursor:
        cursor.execute(query)
        started = time.perf_counter()
        cursor.execute(query)
        rows = cursor.fetchone()[0]
        return (time.perf_counter() - started) * 1000, rows


def _undo() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE reconciliation_matchexpectation, reconciliation_matchline, reconciliation_match")
        cursor.execute("UPDATE reconciliation_expectation SET state = 'unreconciled', reconciled_amount = 0")
    _vacuum()


def _writes_keep() -> None:
    """Keep aside what the matching run wrote: the writes baseline replays it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_writes_match, bench_writes_ml, bench_writes_me")
        cursor.execute("CREATE TABLE bench_writes_match AS SELECT * FROM reconciliation_match")
        cursor.execute("CREATE TABLE bench_writes_ml AS SELECT match_id, line_id FROM reconciliation_matchline")
        cursor.execute("CREATE TABLE bench_writes_me AS SELECT match_id, expectation_id, amount "
                       "FROM reconciliation_matchexpectation")
        cursor.execute("ANALYZE bench_writes_match, bench_writes_ml, bench_writes_me")


def _writes_ms() -> float:
    """The same rows written by raw SQL in one transaction, committed (the deferred foreign-key
    checks included), then undone."""
    from django.db import connection, transaction

    from apps.reconciliation.services.matching import expectations_settle

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO reconciliation_match SELECT * FROM bench_writes_match ORDER BY id")
        cursor.execute("INSERT INTO reconciliation_matchline (match_id, line_id) SELECT match_id, line_id "
                       "FROM bench_writes_ml ORDER BY line_id")
        cursor.execute("INSERT INTO reconciliation_matchexpectation (match_id, expectation_id, amount) "
                       "SELECT match_id, expectation_id, amount FROM bench_writes_me ORDER BY match_id, expectation_id")
        expectations_settle(cursor, "SELECT expectation_id, sum(amount)::bigint FROM bench_writes_me "
                                    "GROUP BY expectation_id")
    elapsed = (time.perf_counter() - started) * 1000
    _undo()
    return elapsed


def _floor_ms() -> float:
    """The least a durable matcher writes (module docstring): bare copies of the keys, then, timed
    and committed, the link rows of the pairs the join finds and their expectations' state."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor_link, bench_floor_line, bench_floor_expectation")
        cursor.execute("CREATE TABLE bench_floor_line AS SELECT id, reference, amount "
                       "FROM reconciliation_bankstatementline")
        cursor.execute("CREATE TABLE bench_floor_expectation AS SELECT row_number() OVER () AS id, reference, "
                       "amount, 'unreconciled'::text AS state FROM reconciliation_expectation")
        cursor.execute("ALTER TABLE bench_floor_line ADD PRIMARY KEY (id)")
        cursor.execute("ALTER TABLE bench_floor_expectation ADD PRIMARY KEY (id)")
        cursor.execute("CREATE INDEX ON bench_floor_expectation (state)")
        cursor.execute("CREATE TABLE bench_floor_link (line_id bigint PRIMARY KEY, expectation_id bigint NOT NULL)")
        cursor.execute("VACUUM ANALYZE bench_floor_line, bench_floor_expectation")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floor_link SELECT DISTINCT ON (l.id) l.id, e.id FROM bench_floor_line l "
                       "JOIN bench_floor_expectation e ON e.reference = l.reference AND e.amount = l.amount "
                       "ORDER BY l.id, e.id")
        cursor.execute("UPDATE bench_floor_expectation e SET state = 'reconciled' FROM bench_floor_link k "
                       "WHERE k.expectation_id = e.id")
    elapsed = (time.perf_counter() - started) * 1000
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_floor_link, bench_floor_line, bench_floor_expectation")
    return elapsed


def _drop() -> None:
    """Drop the benchmark's database (``BENCH_MATCHING_KEEP=1`` keeps it, to look at)."""
    import psycopg2
    from django.db import connection
    from psycopg2 import sql

    from bench.database import maintenance_params

    connection.close()
    name, params = maintenance_params(os.environ["FINCORE_BENCH_DATABASE_URL"])
    if os.environ.get("BENCH_MATCHING_KEEP") == "1" or "bench" not in name:
        return
    maintenance = psycopg2.connect(dbname="postgres", **params)
    try:
        maintenance.autocommit = True
        with maintenance.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        maintenance.close()


def main() -> None:
    django.setup()
    try:
        _main()
    finally:
        _drop()


def _main() -> None:
    from apps.core.actors import Actor
    from apps.reconciliation.models import Expectation, MatchLine
    from apps.reconciliation.services.matching import matching_run

    print(f"bench.reconciliation: preparing {LINES:,} lines and expectations "
          f"({os.environ['FINCORE_BENCH_DATABASE_URL'].rsplit('/', 1)[-1]})", file=sys.stderr)
    started = time.perf_counter()
    counts = _prepare()
    prepare_s = time.perf_counter() - started
    joins, runs, writes, floors, per_rule, steps = [], [], [], [], [], []
    report = None
    for round_number in range(RUNS):
        join_ms, join_rows = _join_ms()
        started = time.perf_counter()
        report = matching_run(nostro_code=NOSTRO, actor=Actor.system("bench.reconciliation"))
        runs.append((time.perf_counter() - started) * 1000)
        joins.append(join_ms)
        per_rule.append({outcome.name: outcome.matches for outcome in report.rules})
        steps.append({**report.steps, "other (rules, audit)": runs[-1] - sum(report.steps.values())})
        matched_lines = MatchLine.objects.count()
        open_expectations = Expectation.objects.exclude(state__in=("reconciled", "partially_reconciled")).count()
        print(f"  round {round_number + 1}: join {join_ms:.0f} ms ({join_rows:,} rows), matching_run "
              f"{runs[-1]:.0f} ms: {matched_lines:,} lines matched, {open_expectations:,} expectations open",
              file=sys.stderr)
        expected_lines = LINES - counts["unexpected"]
        if matched_lines != expected_lines or open_expectations:
            raise SystemExit(f"bench.reconciliation: matched {matched_lines} lines (expected {expected_lines}), "
                             f"{open_expectations} expectations left open")
        if round_number == 0:
            _writes_keep()
        _undo()
        writes.append(_writes_ms())
        floors.append(_floor_ms())
        print(f"  round {round_number + 1}: the same writes in raw SQL {writes[-1]:.0f} ms; the least a durable "
              f"matcher writes {floors[-1]:.0f} ms", file=sys.stderr)
    join_ms, run_ms, writes_ms = statistics.median(joins), statistics.median(runs), statistics.median(writes)
    floor_ms = statistics.median(floors)
    ratio = run_ms / join_ms
    floor_ratio = run_ms / (join_ms + writes_ms)
    print(f"\nMatching ({LINES:,} lines x {LINES:,} expectations, one nostro; medians of {RUNS}; "
          f"prepared in {prepare_s:.0f} s)")
    print("| figure | value |\n|---|---|")
    print(f"| join_ms (reference, amount) | {join_ms:.0f} |")
    print(f"| writes_ms (the same rows written by raw SQL, committed) | {writes_ms:.0f} |")
    print(f"| matching_run_ms (4 default rules, committed) | {run_ms:.0f} |")
    print(f"| ratio to the join | {ratio:.1f} x (target ≤ 3 x: {'met' if ratio <= 3 else 'missed'}) |")
    print(f"| ratio to join + writes | {floor_ratio:.2f} x |")
    print(f"| floor_ms (the least any durable matcher writes: link rows and states, bare tables) | {floor_ms:.0f} "
          f"= {floor_ms / join_ms:.1f} x the join |")
    print(f"every expected line matched ({LINES - counts['unexpected']:,}), no expectation left open, "
          f"{counts['unexpected']:,} unexpected lines left")
    print(f"matches by rule (last round): {per_rule[-1]}")
    print("steps of the last round (ms): " + ", ".join(f"{name} {ms:.0f}" for name, ms in steps[-1].items()))
    print(json.dumps({"benchmark": "reconciliation", "lines": LINES, "join_ms": round(join_ms, 1),
                      "writes_ms": round(writes_ms, 1), "matching_run_ms": round(run_ms, 1), "ratio": round(ratio, 2),
                      "ratio_to_join_plus_writes": round(floor_ratio, 2), "floor_ms": round(floor_ms, 1),
                      "floor_ratio_to_join": round(floor_ms / join_ms, 2), "target_met": ratio <= 3,
                      "all_expected_matched": True, "rules": per_rule[-1],
                      "steps_ms": {name: round(ms, 1) for name, ms in steps[-1].items()}, "runs": RUNS}))


if __name__ == "__main__":
    main()
