"""Matching rules through maker-checker: a treasury operator asks (the request carries the rule's
dry run for the checker), a supervisor approves, the rule is created or its version bumped and the
change journaled; the maker cannot approve; a rule outside the catalogue is refused when asked.
An import enqueues matching in its transaction; the task matches."""

import pytest

from apps.audit.models import AuditEvent
from apps.compliance import services as compliance_services
from apps.compliance.models import ApprovalRequest
from apps.core.actors import Actor
from apps.events.outbox.models import OutboxMessage
from apps.reconciliation.matching.criteria import criteria_parse
from apps.reconciliation.matching.errors import MatchingRuleInvalid
from apps.reconciliation.models import BalanceProof, Break, MatchingRule
from apps.reconciliation.services.rules import RULE_CHANGE, RULE_CREATE
from apps.reconciliation.services.statements import statement_import
from apps.reconciliation.tasks.matching import match_all, match_statement
from apps.treasury.models import NostroAccount
from tests.factories.staff import SUPERVISOR, TREASURY, staff_user, totp_code
from tests.reconciliation import samples
from tests.reconciliation.matching_support import DAY, expectation, line, lines, nostro, statement

pytestmark = pytest.mark.django_db

NEW_RULE = {"name": "Reference and amount, any date", "priority": 50, "cardinality": "one_to_one",
            "criteria": [{"field": "reference", "op": "exact"}, {"field": "amount", "op": "exact"}],
            "enabled": True, "description": ""}


@pytest.fixture
def people():
    return staff_user(TREASURY, username="tariq"), staff_user(SUPERVISOR, username="sara")


def test_a_rule_is_created_once_a_supervisor_approves_with_its_dry_run_shown(people):
    maker, checker = people
    nostro()
    expectation(1250, reference="LATE-1")
    line(1250, reference="LATE-1")
    request = compliance_services.approval_request_create(action=RULE_CREATE, arguments=NEW_RULE, user=maker,
                                                          reason="Late bookings")
    assert request.state == ApprovalRequest.State.PENDING
    assert "dry run now: would match 1 statement line(s) with 1 expectation(s)" in request.target_label
    assert not MatchingRule.objects.filter(name=NEW_RULE["name"]).exists()
    with pytest.raises(Exception, match="may not approve"):
        compliance_services.approval_request_approve(request_id=request.pk, user=maker, otp_token=totp_code(maker))
    compliance_services.approval_request_approve(request_id=request.pk, user=checker, otp_token=totp_code(checker))
    request.refresh_from_db()
    assert request.state == ApprovalRequest.State.EXECUTED, request.outcome
    rule = MatchingRule.objects.get(name=NEW_RULE["name"])
    assert (rule.priority, rule.version, rule.enabled) == (50, 1, True)
    assert AuditEvent.objects.filter(action="reconciliation.matching_rule_created", object_id=str(rule.pk)).exists()


def test_a_change_bumps_the_version_and_is_journaled_with_before_and_after(people):
    maker, checker = people
    rule = MatchingRule.objects.get(priority=20)
    arguments = {**NEW_RULE, "rule_id": str(rule.pk), "name": rule.name, "priority": 20, "enabled": False}
    request = compliance_services.approval_request_create(action=RULE_CHANGE, arguments=arguments, user=maker,
                                                          reason="Too loose")
    compliance_services.approval_request_approve(request_id=request.pk, user=checker, otp_token=totp_code(checker))
    rule.refresh_from_db()
    assert (rule.version, rule.enabled, len(rule.criteria)) == (2, False, 2)
    event = AuditEvent.objects.get(action="reconciliation.matching_rule_changed")
    assert (event.before["version"], event.after["version"]) == (1, 2)


@pytest.mark.parametrize("criteria", [
    [], [{"field": "iban", "op": "exact"}], [{"field": "amount", "op": "tolerance_minor", "value": -1}],
    [{"field": "amount", "op": "tolerance_percent", "value": "101"}], [{"field": "reference", "op": "like"}],
    [{"field": "counterparty_name", "op": "fuzzy", "value": 101}], [{"field": "reference", "op": "exact"}] * 6,
])
def test_criteria_outside_the_catalogue_are_refused_when_asked(people, criteria):
    maker, _ = people
    with pytest.raises(MatchingRuleInvalid):
        compliance_services.approval_request_create(action=RULE_CREATE, arguments={**NEW_RULE, "criteria": criteria},
                                                    user=maker, reason="x")
    assert not ApprovalRequest.objects.exists()


def test_cardinalities_need_their_grouping_criterion():
    with pytest.raises(MatchingRuleInvalid, match="group key"):
        criteria_parse([{"field": "amount", "op": "exact"}], cardinality="one_to_many")
    with pytest.raises(MatchingRuleInvalid, match="many-to-one"):
        criteria_parse([{"field": "amount", "op": "exact"}], cardinality="many_to_one")


def test_the_tasks_match_and_a_rerun_matches_nothing_more():
    nostro()
    expectation(800, reference="T1")
    statement_line = line(800, reference="T1")
    assert match_statement(statement_id=str(statement_line.statement_id))["matches"] == 1
    assert match_all() == {"matches": 0, "lines": 0}


def test_after_matching_what_is_left_is_a_break_and_the_statement_is_proven():
    nostro()
    on = statement()
    expectation(800, reference="T1")
    matched, unknown = lines([{"amount": 800, "reference": "T1"}, {"amount": 450, "reference": "NOBODY"}], on=on)

    match_statement(statement_id=str(on.pk))

    [unmatched] = Break.objects.all()
    assert (unmatched.line_id, unmatched.kind, unmatched.status) == (unknown.pk, "unmatched_line", "open")
    assert not Break.objects.filter(line=matched).exists()


def test_after_matching_a_statement_with_a_closing_balance_is_proven_once():
    nostro()
    on = statement(closing_balance=0, closing_date=DAY)
    lines([{"amount": 450, "reference": "NOBODY"}], on=on)

    match_statement(statement_id=str(on.pk))
    match_all()

    [proof] = BalanceProof.objects.filter(statement=on)
    # The books hold nothing for this nostro, and so does the bank's closing balance.
    assert (proof.ledger_balance, proof.statement_balance, proof.status) == (0, 0, "agreed")


def test_an_import_enqueues_matching_in_its_transaction():
    NostroAccount.objects.create(code="vayb-eur-01", currency="EUR", bank_name="Sample bank", bic="VAYBNL2A",
                                 iban="NL26VAYB8060476890", account_name="Fincore B.S.C.")
    stored = statement_import(content=samples.sample("camt", "camt053.v2.multi.statement.xml"), file_name="m.xml",
                              actor=Actor.system("tests"))
    messages = OutboxMessage.objects.filter(task_name="reconciliation.match_statement")
    assert [(m.queue, m.kwargs) for m in messages] == [("reconciliation", {"statement_id": str(stored[0].pk)})]
