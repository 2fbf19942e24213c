"""Matching: statement lines against expectations, by the matching rules, set-based in PostgreSQL.

:func:`matching_run` works nostro by nostro, each in one transaction holding an advisory lock on
the nostro (manual links take it too), so two runs never match a line twice; ``MatchLine``'s
one-to-one on the line is the database's own guarantee. In the transaction:

1. the nostro's unmatched lines and open expectations (unreconciled, partially reconciled,
   missing; their *open* amount: amount - reconciled) are copied to temporary tables;
2. each enabled rule, in priority order, compiles its criteria to SQL (``matching.criteria``):
   the equality criteria form the join (a hash join), the others filter; the candidate pairs
   land in a temporary table (a fuzzy name score is checked in Python on those candidates only);
3. one-to-one is resolved by rounds of mutual best choices (window functions): a pair is taken
   when each side is the other's first by (closest date, oldest expectation, oldest line); that
   order is total, so every round takes at least the first pair, and the result is the greedy
   matching in that order;
4. the working tables lose what was matched before the next rule runs, and the matches gather
   in run-wide temporary tables; once every rule has run, they are written with one INSERT …
   SELECT per table (in key order) and the expectations updated in one UPDATE (reconciled when
   |reconciled| ≥ |amount| - its amount tolerance, else partially reconciled). Match ids are
   UUIDv7 made in SQL (time-ordered, as ``apps.core.ids.uuid7``), so the new index entries land
   together;
5. connector settlements that became reconciled are posted nostro → connector clearing
   (:func:`settlement_postings`), in the same transaction.

A dry run does steps 1-4 on the working tables only and writes nothing, and reports the first
``sample_size`` matches (a real run takes no sample). ``MatchingReport.steps`` says how long each
step took (milliseconds, summed over nostros), committing included.

Where the time goes at 100,000 lines (bench/README.md): writing the three match tables and the
expectations' UPDATE, and at commit the deferred foreign-key checks of every row written (one
index probe and row lock per row and key); the matching itself is a small part.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from time import perf_counter, time_ns
from typing import Any
from uuid import UUID

from django.db import connection, transaction

from apps.audit.services import audit_record
from apps.core import clock
from apps.core.actors import Actor
from apps.events.outbox.services import outbox_enqueue
from apps.ledger import services as ledger_services
from apps.ledger.data import AccountRef, AccountRole, TransferSpec
from apps.reconciliation.matching.criteria import (
    Criterion,
    MatchingRuleInvalid,
    RuleSql,
    criteria_parse,
    line_group_field,
    name_score,
    rule_sql,
)
from apps.reconciliation.models import MatchingRule
from apps.reconciliation.selectors import matching as selectors

POSTING_BATCH = 1000
OPEN_STATES = ("unreconciled", "partially_reconciled", "missing")


@dataclass(frozen=True, slots=True)
class MatchSample:
    rule: str
    line_ids: tuple[int, ...]
    expectation_ids: tuple[UUID, ...]
    amount: int
    currency: str


@dataclass(slots=True)
class RuleOutcome:
    rule_id: UUID | None
    name: str
    cardinality: str
    matches: int = 0
    lines: int = 0
    expectations: int = 0


@dataclass(slots=True)
class MatchingReport:
    dry_run: bool
    nostros: list[str] = field(default_factory=list)
    rules: list[RuleOutcome] = field(default_factory=list)
    sample: list[MatchSample] = field(default_factory=list)
    postings: int = 0
    steps: dict[str, float] = field(default_factory=dict)  # milliseconds by step, summed over nostros

    @property
    def matches(self) -> int:
        return sum(outcome.matches for outcome in self.rules)

    @property
    def lines(self) -> int:
        return sum(outcome.lines for outcome in self.rules)

    @property
    def expectations(self) -> int:
        return sum(outcome.expectations for outcome in self.rules)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = perf_counter()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + (perf_counter() - started) * 1000

    def label(self) -> str:
        verb = "would match" if self.dry_run else "matched"
        return (f"{verb} {self.lines} statement line(s) with {self.expectations} expectation(s) in "
                f"{self.matches} match(es)")


def matching_enqueue(*, statements: Sequence[Any]) -> None:
    """In the import's transaction: match each imported statement's nostro once committed (one
    task per nostro, through the outbox)."""
    seen: set[str] = set()
    for statement in statements:
        if statement.nostro_id not in seen:
            seen.add(statement.nostro_id)
            outbox_enqueue(task="reconciliation.match_statement", kwargs={"statement_id": str(statement.pk)},
                           queue="reconciliation")


def nostro_lock(nostro_code: str) -> None:
    """Hold the nostro's matching lock until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"reconciliation.matching:{nostro_code}"])


def matching_run(*, nostro_code: str | None = None, statement_id: UUID | None = None,
                 rule: MatchingRule | None = None, dry_run: bool = False, actor: Actor,
                 sample_size: int = 20) -> MatchingReport:
    """Match the unmatched lines of one nostro (``nostro_code``, or the statement's), or of every
    nostro with unmatched lines, by the enabled rules in priority order (or by ``rule`` alone,
    saved or not: a proposed rule's dry run). ``dry_run`` writes nothing and reports what would be
    matched, with the first ``sample_size`` matches. Raises MatchingRuleInvalid for a rule whose
    criteria are not in the catalogue."""
    rules = [rule] if rule is not None else selectors.rules_enabled()
    compiled = [(each, criteria_parse(each.criteria, cardinality=each.cardinality)) for each in rules]
    report = MatchingReport(dry_run=dry_run, rules=[RuleOutcome(each.pk, each.name, each.cardinality)
                                                    for each in rules])
    for code in selectors.nostros_to_match(nostro_code=nostro_code, statement_id=statement_id):
        with transaction.atomic():
            nostro_lock(code)
            _nostro_run(code, compiled, report, dry_run=dry_run, actor=actor, sample_size=sample_size)
            if dry_run:
                transaction.set_rollback(True)
            ending = perf_counter()
        # Committing runs the deferred foreign-key checks of every row written.
        report.steps["commit"] = report.steps.get("commit", 0.0) + (perf_counter() - ending) * 1000
        report.nostros.append(code)
    return report


def _nostro_run(nostro_code: str, compiled: Sequence[tuple[MatchingRule, tuple[Criterion, ...]]],
                report: MatchingReport, *, dry_run: bool, actor: Actor, sample_size: int) -> None:
    now = clock.now()
    with connection.cursor() as cursor:
        with report.step("working tables"):
            _working_tables(cursor, nostro_code)
        ids = _MatchIds()
        for (rule, criteria), outcome in zip(compiled, report.rules, strict=True):
            cursor.execute("SELECT EXISTS (SELECT 1 FROM m_lines)")
            if not cursor.fetchone()[0]:
                break
            _rule_apply(cursor, rule, criteria, outcome, report, ids, dry_run=dry_run, sample_size=sample_size)
        if not dry_run:
            with report.step("writing matches"):
                _matches_write(cursor, now=now, actor=actor)
            with report.step("settlement postings"):
                report.postings += settlement_postings(nostro_code=nostro_code, actor=actor)
            if any(outcome.matches for outcome in report.rules):
                audit_record(actor=actor, action="reconciliation.matching_run", object_type="treasury.nostroaccount",
                             object_id=nostro_code,
                             after={"rules": {outcome.name: outcome.matches for outcome in report.rules},
                                    "matches": report.matches, "lines": report.lines,
                                    "expectations": report.expectations})
        cursor.execute("DROP TABLE IF EXISTS m_lines, m_exps, m_all_match, m_all_ml, m_all_me")


class _MatchIds:
    """UUIDv7 match ids made in SQL for one nostro's run: this run's Unix millisecond, then a
    counter over the run (42 bits: ids increase in the order they are made), then 32 random bits
    (two runs in one millisecond do not collide)."""

    def __init__(self) -> None:
        self.unix_ms = time_ns() // 1_000_000
        self.made = 0

    def sql(self, position: str) -> tuple[str, list[int]]:
        """The SQL expression of the id of the row at 1-based ``position`` (an SQL expression), and
        its parameters; call :meth:`advance` with the number of rows made."""
        counter = f"(%s + {position})"
        return (f"(lpad(to_hex(%s::bigint), 12, '0') || '7' || lpad(to_hex({counter} >> 30), 3, '0') || "
                f"lpad(to_hex((({counter} & 1073741823) << 32) | (random() * 4294967295)::bigint "
                "| (-9223372036854775808)::bigint), 16, '0'))::uuid", [self.unix_ms, self.made, self.made])

    def advance(self, count: int) -> None:
        self.made += count


def _working_tables(cursor: Any, nostro_code: str) -> None:
    cursor.execute("DROP TABLE IF EXISTS m_lines, m_exps")
    cursor.execute(
        "CREATE TEMP TABLE m_lines ON COMMIT DROP AS "
        "SELECT l.id, l.currency, l.amount, l.booking_date, upper(btrim(l.reference)) AS ref, "
        "upper(l.reference || ' ' || l.description) AS haystack, upper(btrim(l.end_to_end_id)) AS e2e, "
        "l.counterparty_name AS cp "
        "FROM reconciliation_bankstatementline l "
        "JOIN reconciliation_bankstatement s ON s.id = l.statement_id "
        "WHERE s.nostro_code = %s "
        "AND NOT EXISTS (SELECT 1 FROM reconciliation_matchline m WHERE m.line_id = l.id)", [nostro_code])
    cursor.execute(
        "CREATE TEMP TABLE m_exps ON COMMIT DROP AS "
        "SELECT e.id, e.currency, e.amount - e.reconciled_amount AS amount, e.amount AS full_amount, "
        "e.reconciled_amount AS done, e.expected_date AS date_lo, e.expected_date AS date_hi, "
        "e.date_tolerance_days::int AS tol_days, e.amount_tolerance AS amt_tol, upper(btrim(e.reference)) AS ref, "
        "upper(btrim(e.end_to_end_id)) AS e2e, e.counterparty_name AS cp, upper(btrim(e.group_key)) AS gkey, "
        "e.created_at "
        "FROM reconciliation_expectation e "
        "WHERE e.nostro_code = %s AND e.state IN %s AND abs(e.reconciled_amount) < abs(e.amount)",
        [nostro_code, OPEN_STATES])
    # Statistics for the planner (autovacuum never analyzes temporary tables): the row counts and
    # a small sample are all these hash joins need (a tenth of the default sample, ~60 ms less).
    cursor.execute("SET LOCAL default_statistics_target = 10")
    cursor.execute("ANALYZE m_lines, m_exps")
    cursor.execute("SET LOCAL default_statistics_target TO DEFAULT")
    cursor.execute("DROP TABLE IF EXISTS m_all_match, m_all_ml, m_all_me")
    cursor.execute("CREATE TEMP TABLE m_all_match (mid uuid, rule_id uuid, rule_version integer) ON COMMIT DROP")
    cursor.execute("CREATE TEMP TABLE m_all_ml (mid uuid, line_id bigint) ON COMMIT DROP")
    cursor.execute("CREATE TEMP TABLE m_all_me (mid uuid, eid uuid, amount bigint) ON COMMIT DROP")


def _rule_apply(cursor: Any, rule: MatchingRule, criteria: tuple[Criterion, ...], outcome: RuleOutcome,
                report: MatchingReport, ids: _MatchIds, *, dry_run: bool, sample_size: int) -> None:
    with report.step("candidates"):
        sql = _candidates(cursor, rule, criteria)
    with report.step("one-to-one"):
        if sql.fuzzy is not None:
            _fuzzy_filter(cursor, sql.fuzzy)
        _one_to_one_resolve(cursor)
    with report.step("building matches"):
        _matches_build(cursor, rule.cardinality, ids)
        cursor.execute("SELECT (SELECT count(*) FROM m_new), (SELECT count(*) FROM m_ml), "
                       "(SELECT count(DISTINCT eid) FROM m_me)")
        matches, matched_lines, matched_expectations = cursor.fetchone()
        ids.advance(matches)
    if not matches:
        return
    outcome.matches += matches
    outcome.lines += matched_lines
    outcome.expectations += matched_expectations
    if dry_run and len(report.sample) < sample_size:
        _sample(cursor, rule.name, report, sample_size - len(report.sample))
    with report.step("working tables"):
        if not dry_run:
            cursor.execute("INSERT INTO m_all_match SELECT mid, %s, %s FROM m_new", [rule.pk, rule.version])
            cursor.execute("INSERT INTO m_all_ml SELECT mid, line_id FROM m_ml")
            cursor.execute("INSERT INTO m_all_me SELECT mid, eid, amount FROM m_me")
        # What later rules see: the lines left, and the expectations' open amounts.
        cursor.execute("DELETE FROM m_lines l USING m_ml m WHERE l.id = m.line_id")
        # Settled ones go (not updated first), the others' open amounts shrink.
        cursor.execute(
            "WITH s AS (SELECT eid, sum(amount)::bigint AS amount FROM m_me GROUP BY eid), "
            "gone AS (DELETE FROM m_exps x USING s WHERE x.id = s.eid "
            "AND abs(x.done + s.amount) >= abs(x.full_amount) - x.amt_tol) "
            "UPDATE m_exps x SET done = x.done + s.amount, amount = x.full_amount - x.done - s.amount FROM s "
            "WHERE x.id = s.eid AND abs(x.done + s.amount) < abs(x.full_amount) - x.amt_tol")
        cursor.execute("DELETE FROM m_exps WHERE abs(done) >= abs(full_amount) - amt_tol")


def _candidates(cursor: Any, rule: MatchingRule, criteria: tuple[Criterion, ...]) -> RuleSql:
    """The rule's candidate pairs in m_cand (line unit, expectation unit, and what orders them);
    for a grouping rule, the groups first (m_lgroups or m_egroups). Returns the rule's SQL."""
    cursor.execute("SELECT coalesce(max(amt_tol), 0), coalesce(max(tol_days), 0) FROM m_exps")
    max_amount_tolerance, max_date_tolerance = cursor.fetchone()
    sql = rule_sql(criteria, max_amount_tolerance=max_amount_tolerance, max_date_tolerance=max_date_tolerance)
    cardinality = rule.cardinality
    line_side, expectation_side = "m_lines", "m_exps"
    cursor.execute("DROP TABLE IF EXISTS m_lgroups, m_egroups, m_cand, m_pairs, m_new, m_me, m_ml")
    if cardinality == "one_to_many":
        expectation_side = "m_egroups"
        cursor.execute(
            "CREATE TEMP TABLE m_egroups ON COMMIT DROP AS "
            "SELECT row_number() OVER () AS id, currency, gkey AS ref, sum(amount)::bigint AS amount, "
            "min(date_lo) AS date_lo, max(date_hi) AS date_hi, min(tol_days) AS tol_days, max(amt_tol) AS amt_tol, "
            "CASE WHEN min(e2e) = max(e2e) THEN min(e2e) ELSE '' END AS e2e, "
            "CASE WHEN min(cp) = max(cp) THEN min(cp) ELSE '' END AS cp, min(created_at) AS created_at, "
            "array_agg(id ORDER BY created_at, id) AS exp_ids, array_agg(amount ORDER BY created_at, id) AS amounts "
            "FROM m_exps WHERE gkey <> '' GROUP BY currency, gkey, amount > 0")
        cursor.execute("ANALYZE m_egroups")
    elif cardinality == "many_to_one":
        line_side = "m_lgroups"
        key = "ref" if line_group_field(criteria) == "reference" else "e2e"
        other = "e2e" if key == "ref" else "ref"
        cursor.execute(
            "CREATE TEMP TABLE m_lgroups ON COMMIT DROP AS "
            f"SELECT row_number() OVER () AS id, currency, {key}, sum(amount)::bigint AS amount, "
            "max(booking_date) AS booking_date, "
            f"CASE WHEN min({other}) = max({other}) THEN min({other}) ELSE '' END AS {other}, "
            "CASE WHEN min(haystack) = max(haystack) THEN min(haystack) ELSE "
            f"{'ref' if key == 'ref' else repr('')} END AS haystack, "
            "CASE WHEN min(cp) = max(cp) THEN min(cp) ELSE '' END AS cp, array_agg(id ORDER BY id) AS line_ids "
            f"FROM m_lines WHERE {key} <> '' GROUP BY currency, {key}, amount > 0")
        cursor.execute("ANALYZE m_lgroups")
    names = ", l.cp AS lcp, e.cp AS ecp" if sql.fuzzy is not None else ""
    cursor.execute(
        "CREATE TEMP TABLE m_cand ON COMMIT DROP AS "
        "SELECT l.id AS lu, e.id AS eu, abs(l.booking_date - e.date_lo) AS dd, e.created_at AS ec, "
        f"l.booking_date AS lb{names} "
        f"FROM {line_side} l JOIN {expectation_side} e ON {sql.join} WHERE {sql.where}", sql.params)
    return sql


def _fuzzy_filter(cursor: Any, threshold: int) -> None:
    cursor.execute("SELECT lu, eu::text, lcp, ecp FROM m_cand")
    failing = [(lu, eu) for lu, eu, lcp, ecp in cursor.fetchall() if name_score(lcp, ecp) < threshold]
    if failing:
        cursor.execute("DELETE FROM m_cand c USING unnest(%s::bigint[], %s::text[]) f(lu, eu) "
                       "WHERE c.lu = f.lu AND c.eu::text = f.eu",
                       [[lu for lu, _ in failing], [eu for _, eu in failing]])


def _one_to_one_resolve(cursor: Any) -> None:
    """Each line unit and expectation unit in one pair at most: rounds of mutual first choices by
    (closest date, oldest expectation, expectation, oldest line, line)."""
    cursor.execute("CREATE TEMP TABLE m_pairs ON COMMIT DROP AS SELECT lu, eu, 0 AS round FROM m_cand WHERE false")
    order = "dd, ec, eu, lb, lu"
    for round_number in range(1, 10_000):
        cursor.execute(
            "INSERT INTO m_pairs SELECT lu, eu, %s FROM ("
            f"SELECT lu, eu, row_number() OVER (PARTITION BY lu ORDER BY {order}) AS rl, "
            f"row_number() OVER (PARTITION BY eu ORDER BY {order}) AS re FROM m_cand) ranked "
            "WHERE rl = 1 AND re = 1", [round_number])
        if not cursor.rowcount:
            return
        cursor.execute("DELETE FROM m_cand c USING m_pairs p WHERE p.round = %s AND c.lu = p.lu", [round_number])
        cursor.execute("DELETE FROM m_cand c USING m_pairs p WHERE p.round = %s AND c.eu = p.eu", [round_number])
        cursor.execute("SELECT EXISTS (SELECT 1 FROM m_cand)")
        if not cursor.fetchone()[0]:
            return


def _matches_build(cursor: Any, cardinality: str, ids: _MatchIds) -> None:
    """m_new (match id, line unit, expectation unit), m_ml (match id, line id) and m_me (match id,
    expectation id, amount settled, signed like the expectation). Match ids follow the line units'
    order, so the lines' rows are written in the order of both keys."""
    mid, params = ids.sql("row_number() OVER (ORDER BY lu)")
    cursor.execute(f"CREATE TEMP TABLE m_new ON COMMIT DROP AS SELECT {mid} AS mid, lu, eu FROM m_pairs", params)
    if cardinality == "many_to_one":
        cursor.execute("CREATE TEMP TABLE m_ml ON COMMIT DROP AS SELECT n.mid, unnest(g.line_ids) AS line_id "
                       "FROM m_new n JOIN m_lgroups g ON g.id = n.lu")
        cursor.execute("CREATE TEMP TABLE m_me ON COMMIT DROP AS SELECT n.mid, n.eu AS eid, g.amount "
                       "FROM m_new n JOIN m_lgroups g ON g.id = n.lu")
        return
    cursor.execute("CREATE TEMP TABLE m_ml ON COMMIT DROP AS SELECT mid, lu AS line_id FROM m_new")
    if cardinality == "one_to_one":
        cursor.execute("CREATE TEMP TABLE m_me ON COMMIT DROP AS SELECT n.mid, n.eu AS eid, l.amount "
                       "FROM m_new n JOIN m_lines l ON l.id = n.lu")
        return
    # One line for a group: each expectation its open amount, the last one (newest) what the line
    # differs from the group's sum by (within tolerance).
    cursor.execute(
        "CREATE TEMP TABLE m_me ON COMMIT DROP AS SELECT * FROM ("
        "SELECT n.mid, x.eid, x.amount + CASE WHEN x.ord = cardinality(g.exp_ids) THEN l.amount - g.amount "
        "ELSE 0 END AS amount "
        "FROM m_new n JOIN m_egroups g ON g.id = n.eu JOIN m_lines l ON l.id = n.lu "
        "CROSS JOIN LATERAL unnest(g.exp_ids, g.amounts) WITH ORDINALITY AS x(eid, amount, ord)) rows "
        "WHERE amount <> 0")


def _sample(cursor: Any, rule_name: str, report: MatchingReport, limit: int) -> None:
    cursor.execute(
        "SELECT n.mid, (SELECT array_agg(line_id ORDER BY line_id) FROM m_ml m WHERE m.mid = n.mid), "
        "(SELECT array_agg(eid::text ORDER BY eid) FROM m_me m WHERE m.mid = n.mid), "
        "(SELECT sum(l.amount)::bigint FROM m_ml m JOIN m_lines l ON l.id = m.line_id WHERE m.mid = n.mid), "
        "(SELECT min(l.currency) FROM m_ml m JOIN m_lines l ON l.id = m.line_id WHERE m.mid = n.mid) "
        "FROM (SELECT mid, min(line_id) AS first FROM m_ml GROUP BY mid ORDER BY first LIMIT %s) n ORDER BY n.first",
        [limit])
    for _, line_ids, expectation_ids, amount, currency in cursor.fetchall():
        report.sample.append(MatchSample(rule_name, tuple(line_ids), tuple(UUID(each) for each in expectation_ids),
                                         amount, currency))


def _matches_write(cursor: Any, *, now: datetime, actor: Actor) -> None:
    """Every rule's matches at once, each table in the order of its keys (index entries and the
    deferred foreign-key checks then walk each index once), and the expectations settled."""
    cursor.execute("INSERT INTO reconciliation_match (id, kind, rule_id, rule_version, created_at, created_by, reason) "
                   "SELECT mid, 'rule', rule_id, rule_version, %s, %s, '' FROM m_all_match ORDER BY mid",
                   [now, actor.label[:200]])
    cursor.execute("INSERT INTO reconciliation_matchline (match_id, line_id) SELECT mid, line_id FROM m_all_ml "
                   "ORDER BY line_id")
    cursor.execute("INSERT INTO reconciliation_matchexpectation (match_id, expectation_id, amount) "
                   "SELECT mid, eid, amount FROM m_all_me ORDER BY mid, eid")
    expectations_settle(cursor, "SELECT eid, sum(amount)::bigint AS amount FROM m_all_me GROUP BY eid")


def expectations_settle(cursor: Any, settled_sql: str, params: Sequence[Any] = ()) -> None:
    """Add what ``settled_sql`` (rows of expectation id, amount) settled to each expectation, and
    set its state: reconciled when |reconciled| ≥ |amount| - its tolerance, else partially."""
    cursor.execute(
        "UPDATE reconciliation_expectation e SET reconciled_amount = e.reconciled_amount + s.amount, "
        "state = CASE WHEN abs(e.reconciled_amount + s.amount) >= abs(e.amount) - e.amount_tolerance "
        "THEN 'reconciled' ELSE 'partially_reconciled' END "
        f"FROM ({settled_sql}) s(eid, amount) WHERE e.id = s.eid", list(params))


def settlement_postings(*, nostro_code: str, actor: Actor) -> int:
    """Post each reconciled connector settlement's matched amounts nostro → connector clearing (the
    money arrived), once per match row (its ``transfer_id`` says it was), client id
    ``reconciliation:settlement:<expectation>:<match>``, effective at the end of the last matched
    line's booking date. Payouts post nothing here: the bank's status report already moved them
    from payouts in transit to the nostro. Returns how many transfers were posted."""
    rows = selectors.settlement_rows_unposted(nostro_code=nostro_code)
    posted = 0
    for start in range(0, len(rows), POSTING_BATCH):
        chunk = rows[start:start + POSTING_BATCH]
        specs = [_settlement_spec(row, nostro_code, actor) for row in chunk]
        items = ledger_services.transfers_batch(specs=specs, atomic=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE reconciliation_matchexpectation m SET transfer_id = u.transfer_id "
                "FROM unnest(%s::bigint[], %s::uuid[]) u(id, transfer_id) WHERE m.id = u.id",
                [[row.id for row in chunk], [str(item.transfer.pk) for item in items]])
        posted += len(chunk)
    return posted


def _settlement_spec(row: selectors.SettlementRow, nostro_code: str, actor: Actor) -> TransferSpec:
    nostro = AccountRef(AccountRole.NOSTRO, row.currency, True, name=nostro_code)
    clearing = AccountRef(AccountRole.CONNECTOR_CLEARING, row.currency, True, name=row.connector)
    debit, credit = (nostro, clearing) if row.amount > 0 else (clearing, nostro)
    return TransferSpec(
        client_id=f"reconciliation:settlement:{row.expectation_id}:{row.match_id}", debit_account_ref=debit,
        credit_account_ref=credit, amount=abs(row.amount), currency=row.currency, code="settlement_received",
        reference=row.reference[:140], effective_at=clock.day_end(row.booking_date),
        metadata={"expectation_id": str(row.expectation_id), "match_id": str(row.match_id),
                  "connector": row.connector, "nostro": nostro_code},
        created_by=actor.label[:200])


__all__ = ["MatchingReport", "MatchingRuleInvalid", "expectations_settle",
           "matching_enqueue", "matching_run", "nostro_lock", "settlement_postings"]
