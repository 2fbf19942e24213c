"""Matching (database): each criterion either side of its threshold, each cardinality, rules' order,
a line matched once across runs, partial then full settlement, a connector settlement posted once,
the dry run, manual links and their undo."""

from datetime import timedelta

import pytest

from apps.audit.models import AuditEvent
from apps.core.actors import Actor
from apps.ledger import selectors as ledger_selectors
from apps.ledger.data import AccountRef, AccountRole
from apps.reconciliation.matching.errors import MatchLinkRefused, MatchUndoRefused
from apps.reconciliation.models import Expectation, Match, MatchExpectation, MatchingRule, MatchLine
from apps.reconciliation.services.matches import match_link, match_undo
from apps.reconciliation.services.matching import matching_run
from tests.reconciliation.matching_support import DAY, expectation, line, lines, nostro, only_rule

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests.matching")
REF = {"field": "reference", "op": "exact"}
AMOUNT = {"field": "amount", "op": "exact"}


@pytest.fixture(autouse=True)
def bhd_nostro():
    return nostro()


def run(**kwargs):
    return matching_run(nostro_code="nbb-bhd-01", actor=ACTOR, **kwargs)


def matched(subject) -> bool:
    if isinstance(subject, Expectation):
        subject.refresh_from_db()
        return subject.state == "reconciled"
    return MatchLine.objects.filter(line=subject).exists()


def test_default_rules_are_seeded_enabled_in_order():
    rules = list(MatchingRule.objects.order_by("priority"))
    assert [(rule.cardinality, rule.enabled) for rule in rules] == [
        ("one_to_one", True), ("one_to_one", True), ("one_to_many", True), ("one_to_one", True)]
    assert rules[3].criteria[3] == {"field": "counterparty_name", "op": "fuzzy", "value": 85}


# --- each criterion either side of its threshold ---------------------------------------------------


@pytest.mark.parametrize(("criterion", "line_fields", "holds"), [
    (REF, {"reference": "inv-1001 "}, True),
    (REF, {"reference": "INV-1002"}, False),
    ({"field": "reference", "op": "contains"}, {"reference": "", "description": "PAYMENT INV-1001 THANKS"}, True),
    ({"field": "reference", "op": "contains"}, {"reference": "INV-100"}, False),
    ({"field": "end_to_end_id", "op": "exact"}, {"end_to_end_id": "E2E-1"}, True),
    ({"field": "end_to_end_id", "op": "exact"}, {"end_to_end_id": "E2E-2"}, False),
    ({"field": "date", "op": "window_days", "value": 2}, {"booking_date": DAY + timedelta(days=2)}, True),
    ({"field": "date", "op": "window_days", "value": 2}, {"booking_date": DAY - timedelta(days=3)}, False),
    ({"field": "counterparty_name", "op": "fuzzy", "value": 85}, {"counterparty_name": "ACME TRADING WLL"}, True),
    ({"field": "counterparty_name", "op": "fuzzy", "value": 85}, {"counterparty_name": "Acne Logistics"}, False),
])
def test_each_criterion_either_side_of_its_threshold(criterion, line_fields, holds):
    only_rule("one_to_one", criterion, AMOUNT)
    wanted = expectation(12500, reference="INV-1001", end_to_end_id="E2E-1", counterparty_name="Acme Trading W.L.L.")
    statement_line = line(12500, **line_fields)
    report = run()
    assert (report.matches, matched(statement_line), matched(wanted)) == ((1, True, True) if holds else
                                                                          (0, False, False))


@pytest.mark.parametrize(("criterion", "amount", "holds"), [
    (AMOUNT, 1250, True), (AMOUNT, 1251, False),
    ({"field": "amount", "op": "tolerance_minor", "value": 5}, 1255, True),
    ({"field": "amount", "op": "tolerance_minor", "value": 5}, 1256, False),
    ({"field": "amount", "op": "tolerance_percent", "value": "0.4"}, 1245, True),
    ({"field": "amount", "op": "tolerance_percent", "value": "0.4"}, 1244, False),
])
def test_amount_either_side_of_its_tolerance(criterion, amount, holds):
    only_rule("one_to_one", REF, criterion)
    expectation(1250, reference="R1")
    statement_line = line(amount, reference="R1")
    run()
    assert matched(statement_line) is holds


def test_an_expectations_own_tolerances_widen_the_rule():
    only_rule("one_to_one", REF, AMOUNT, {"field": "date", "op": "window_days", "value": 0})
    wanted = expectation(1250, reference="R1", amount_tolerance=3, date_tolerance_days=2)
    line(1247, reference="R1", booking_date=DAY + timedelta(days=2))
    run()
    wanted.refresh_from_db()
    assert (wanted.state, wanted.reconciled_amount) == ("reconciled", 1247)


def test_opposite_signs_and_other_currencies_never_match():
    only_rule("one_to_one", REF)
    expectation(-1250, reference="R1")
    line(1250, reference="R1")
    assert run().matches == 0


# --- cardinalities ---------------------------------------------------------------------------------


def test_one_to_many_one_line_settles_a_batch_by_its_group_key():
    only_rule("one_to_many", REF, AMOUNT)
    batch = [expectation(amount, group_key="BATCH-77", source="connector_settlement") for amount in (1000, 2500, 750)]
    other = expectation(1000, group_key="BATCH-78")
    statement_line = line(4250, reference="batch-77")
    report = run()
    assert (report.matches, report.lines, report.expectations) == (1, 1, 3)
    assert all(matched(each) for each in batch) and not matched(other)
    match = MatchLine.objects.get(line=statement_line).match
    assert sorted(match.expectations.values_list("amount", flat=True)) == [750, 1000, 2500]


def test_many_to_one_lines_sharing_a_reference_settle_one_expectation():
    only_rule("many_to_one", REF, AMOUNT)
    wanted = expectation(-9000, reference="PO-5")
    parts = lines([{"amount": -4000, "reference": "PO-5"}, {"amount": -5000, "reference": "PO-5"},
                   {"amount": -5000, "reference": "PO-6"}])
    report = run()
    assert (report.matches, report.lines, report.expectations) == (1, 2, 1)
    assert matched(wanted) and matched(parts[0]) and matched(parts[1]) and not matched(parts[2])


def test_one_to_one_ties_go_to_the_closest_date_then_the_oldest():
    only_rule("one_to_one", REF, AMOUNT)
    far = expectation(500, reference="R", expected_date=DAY - timedelta(days=3))
    oldest = expectation(500, reference="R", expected_date=DAY)
    newer = expectation(500, reference="R", expected_date=DAY)
    line(500, reference="R")
    run()
    assert (matched(oldest), matched(newer), matched(far)) == (True, False, False)


def test_an_earlier_rule_wins():
    only_rule("one_to_one", REF, AMOUNT, name="Later")
    MatchingRule.objects.filter(name="End-to-end id and amount").update(enabled=True)
    statement_line = line(700, reference="R", end_to_end_id="E1")
    expectation(700, reference="R")
    expectation(700, end_to_end_id="E1")
    run()
    match = MatchLine.objects.get(line=statement_line).match
    assert match.rule.name == "End-to-end id and amount"


# --- once, in parts, posted once -------------------------------------------------------------------


def test_a_line_is_matched_once_however_often_matching_runs():
    only_rule("one_to_one", REF, AMOUNT)
    statement_line = line(900, reference="R")
    expectation(900, reference="R")
    assert run().matches == 1
    expectation(900, reference="R")
    assert run().matches == 0
    assert MatchLine.objects.filter(line=statement_line).count() == 1


def test_partially_reconciled_then_reconciled():
    only_rule("one_to_one", REF, {"field": "amount", "op": "tolerance_minor", "value": 500})
    wanted = expectation(10000, reference="R")
    line(9600, reference="R")
    run()
    wanted.refresh_from_db()
    assert (wanted.state, wanted.reconciled_amount) == ("partially_reconciled", 9600)
    line(400, reference="R")
    run()
    wanted.refresh_from_db()
    assert (wanted.state, wanted.reconciled_amount) == ("reconciled", 10000)
    assert wanted.match_rows.count() == 2


def _clearing_and_nostro():
    nostro_account = ledger_selectors.role_account_get(ref=AccountRef(AccountRole.NOSTRO, "BHD", True,
                                                                      name="nbb-bhd-01"))
    clearing = ledger_selectors.role_account_get(ref=AccountRef(AccountRole.CONNECTOR_CLEARING, "BHD", True,
                                                                name="benefit"))
    return nostro_account, clearing


def test_a_connector_settlement_is_posted_nostro_to_clearing_once():
    only_rule("one_to_one", REF, AMOUNT)
    wanted = expectation(125000, reference="SETTLE-1", source="connector_settlement",
                         metadata={"connector": "benefit"})
    line(125000, reference="SETTLE-1")
    report = run()
    assert report.postings == 1
    run()
    nostro_account, clearing = _clearing_and_nostro()
    assert (nostro_account.debits_posted, clearing.credits_posted) == (125000, 125000)
    row = MatchExpectation.objects.get(expectation=wanted)
    assert row.transfer_id is not None
    with pytest.raises(MatchUndoRefused, match="reversal"):
        match_undo(match_id=row.match_id, actor=ACTOR, reason="wrong")


def test_a_payout_posts_nothing():
    only_rule("one_to_one", REF, AMOUNT)
    expectation(-5000, reference="PO-1", source="payout")
    line(-5000, reference="PO-1")
    assert run().postings == 0
    assert not MatchExpectation.objects.filter(transfer_id__isnull=False).exists()


# --- dry run ---------------------------------------------------------------------------------------


def test_a_dry_run_writes_nothing_and_agrees_with_the_real_run():
    only_rule("one_to_one", REF, AMOUNT)
    for n in range(6):
        expectation(100 + n, reference=f"R{n}")
        line(100 + n, reference=f"R{n}")
    line(999, reference="NOTHING")
    dry = run(dry_run=True, sample_size=3)
    assert (dry.matches, dry.lines, dry.expectations, len(dry.sample)) == (6, 6, 6, 3)
    assert not Match.objects.exists() and not Expectation.objects.filter(state="reconciled").exists()
    real = run()
    assert (real.matches, real.lines, real.expectations) == (dry.matches, dry.lines, dry.expectations)
    assert {s.line_ids for s in dry.sample} <= {(m.line_id,) for m in MatchLine.objects.all()}


def test_a_proposed_rule_runs_dry_without_being_saved():
    expectation(300, reference="X")
    line(300, reference="X")
    proposed = MatchingRule(name="proposed", priority=999, cardinality="one_to_one", criteria=[REF, AMOUNT])
    report = matching_run(rule=proposed, dry_run=True, actor=ACTOR)
    assert report.matches == 1 and not Match.objects.exists() and not MatchingRule.objects.filter(name="proposed")


# --- manual links ----------------------------------------------------------------------------------


def test_a_manual_link_spreads_the_lines_over_the_expectations_and_is_journaled():
    first, second = expectation(600, reference="A"), expectation(400, reference="B")
    parts = lines([{"amount": 700, "reference": "?"}, {"amount": 300, "reference": "?"}])
    match = match_link(line_ids=[p.pk for p in parts], expectation_ids=[first.pk, second.pk], actor=ACTOR,
                       reason="Bank wrapped both in one advice")
    assert match.kind == "manual"
    assert dict(match.expectations.values_list("expectation_id", "amount")) == {first.pk: 600, second.pk: 400}
    assert matched(first) and matched(second)
    assert AuditEvent.objects.filter(action="reconciliation.match_linked", object_id=str(match.pk)).exists()
    with pytest.raises(MatchLinkRefused, match="matched already"):
        match_link(line_ids=[parts[0].pk], expectation_ids=[expectation(700).pk], actor=ACTOR, reason="again")
    match_undo(match_id=match.pk, actor=ACTOR, reason="wrong link")
    first.refresh_from_db()
    assert (first.state, first.reconciled_amount) == ("unreconciled", 0)
    assert not MatchLine.objects.exists()


def test_a_manual_link_posts_a_connector_settlement():
    wanted = expectation(2000, source="connector_settlement", metadata={"connector": "benefit"})
    part = line(2000, reference="?")
    match_link(line_ids=[part.pk], expectation_ids=[wanted.pk], actor=ACTOR, reason="by hand")
    _, clearing = _clearing_and_nostro()
    assert clearing.credits_posted == 2000


# --- the run's writes (issue 12's benchmark reshaped them: one write per table per run) ------------


def test_a_run_writes_every_rules_matches_with_time_ordered_ids_and_reports_its_steps():
    by_e2e = expectation(-40000, end_to_end_id="E2E-77")
    by_reference = expectation(12500, reference="INV-2001")
    batch = [expectation(3000, group_key="BATCH-9"), expectation(4500, group_key="BATCH-9")]
    line(-40000, end_to_end_id="e2e-77 ")
    line(12500, reference="INV-2001")
    line(7500, reference="BATCH-9")
    line(999, reference="UNEXPECTED")

    dry = run(dry_run=True)
    assert (dry.matches, len(dry.sample), Match.objects.count()) == (3, 3, 0)

    report = run()
    assert (report.matches, report.lines, report.expectations, report.sample) == (3, 3, 4, [])
    assert {"working tables", "candidates", "writing matches", "commit"} <= set(report.steps)
    matches = list(Match.objects.order_by("id"))
    assert [match.id.version for match in matches] == [7, 7, 7]
    # Made in rule order, each rule's after the previous one's.
    assert [match.rule.priority for match in matches] == [10, 20, 30]
    assert all(matched(each) for each in [by_e2e, by_reference, *batch])
    batch_match = matches[2]
    assert sorted(batch_match.expectations.values_list("amount", flat=True)) == [3000, 4500]
    assert MatchLine.objects.count() == 3
