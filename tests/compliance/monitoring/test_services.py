"""Evaluating movements: scope, idempotency, holds, the ledger's wallet transfers, backtests and the
maker-checker changes of rules and risk tiers."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.compliance import services as approvals
from apps.compliance.models import Alert, Case, MonitoredEvent, MonitoringRule
from apps.compliance.monitoring import selectors, services
from apps.core import clock, ids
from tests.compliance.monitoring.helpers import observation, profile, rule
from tests.factories import ledger as ledger_factories
from tests.factories.staff import staff_user, totp_code

pytestmark = pytest.mark.django_db

BHD = 1000


def _alerts(monitoring_rule: MonitoringRule) -> list[Alert]:
    return list(Alert.objects.filter(rule=monitoring_rule))


def test_evaluating_a_movement_twice_records_it_once_and_raises_one_alert():
    merchant, large = profile(), rule("large_amount", {"amount": 100})
    movement = observation(merchant, amount=100)
    assert [alert.rule for alert in services.observation_evaluate(observation=movement) if alert.rule == large] == [
        large]
    assert [alert for alert in services.observation_evaluate(observation=movement) if alert.rule == large] == []
    alert, = _alerts(large)
    assert (alert.event_key, alert.subject_id, alert.evidence["event"]["amount"]) == (
        f"payments.payment:{movement.source_id}", str(merchant.merchant_id), 100)
    assert MonitoredEvent.objects.filter(source_id=movement.source_id).count() == 1
    assert Case.objects.filter(subject_id=str(merchant.merchant_id)).count() == 1


def test_a_movement_evaluated_again_after_its_case_closed_opens_no_case_and_journals_nothing():
    # The alert's unique constraint, not a read before the insert, keeps one alert per rule and
    # movement: the case the second evaluation opened is taken back with its failed insert.
    merchant, large = profile(), rule("large_amount", {"amount": 100})
    movement = observation(merchant, amount=100)
    services.observation_evaluate(observation=movement)
    Case.objects.filter(subject_id=str(merchant.merchant_id)).update(
        status=Case.Status.CLOSED, closed_at=clock.now(), closed_by=staff_user(),
        disposition=Case.Disposition.FALSE_POSITIVE)
    journaled = AuditEvent.objects.count()

    assert services.observation_evaluate(observation=movement) == []

    assert len(_alerts(large)) == 1
    assert list(Case.objects.filter(subject_id=str(merchant.merchant_id)).values_list("status", flat=True)) == [
        Case.Status.CLOSED]
    assert AuditEvent.objects.count() == journaled


def test_raising_an_alert_reads_nothing_before_its_insert():
    merchant, _ = profile(), rule("large_amount", {"amount": 100})
    services.observation_evaluate(observation=observation(merchant, amount=100))  # its case is open now
    with CaptureQueriesContext(connection) as queries:
        raised = services.observation_evaluate(observation=observation(merchant, amount=100))
    assert len(raised) == 1
    statements = [query["sql"] for query in queries.captured_queries]
    alert_insert = next(i for i, sql in enumerate(statements) if sql.startswith('INSERT INTO "compliance_alert"'))
    assert not any('FROM "compliance_alert"' in sql for sql in statements[:alert_insert])
    # Its savepoint, the case's lock, the alert, its audit row, the release.
    assert len(statements[alert_insert - 2:]) <= 6, statements


def test_a_rule_watches_only_its_scope_and_currencies():
    low, high = profile(risk_tier="low"), profile(risk_tier="high")
    tiered = rule("large_amount", {"amount": 100}, scope="risk_tier", scope_risk_tier="high")
    one = rule("large_amount", {"amount": 100}, scope="merchant", scope_merchant_id=low.merchant_id)
    disabled = rule("large_amount", {"amount": 100}, enabled=False)
    for merchant in (low, high):
        services.observation_evaluate(observation=observation(merchant, amount=100))
    services.observation_evaluate(observation=observation(high, amount=100, currency="USD"))
    assert [alert.subject_id for alert in _alerts(tiered)] == [str(high.merchant_id)]
    assert [alert.subject_id for alert in _alerts(one)] == [str(low.merchant_id)]
    assert _alerts(disabled) == []


def test_payment_hold_check_holds_with_a_hold_rule_only_and_once():
    merchant = profile()
    alerting = rule("large_amount", {"amount": 100}, severity="high")
    holding = rule("large_amount", {"amount": 100}, action="hold", hold_hours=12)
    movement = observation(merchant, amount=100)
    held = services.payment_hold_check(observation=movement, hold_object_id="pay-1")
    assert (held.rule, held.hold_state, held.hold_object_type, held.hold_object_id) == (
        holding, "held", "payments.payment", "pay-1")
    assert held.hold_due_at - clock.now() <= timedelta(hours=12)
    assert _alerts(alerting) == []  # alert-only rules wait for the outcome event, off the request path
    assert services.payment_hold_check(observation=movement, hold_object_id="pay-1") == held
    assert services.payment_hold_check(observation=observation(merchant, amount=99), hold_object_id="pay-2") is None
    assert Alert.objects.filter(hold_state="held").count() == 1


def test_a_hold_rule_placed_or_changed_after_the_rules_were_read_holds_the_next_payment():
    merchant = profile()
    assert services.payment_hold_check(observation=observation(merchant, amount=100), hold_object_id="pay-1") is None
    holding = rule("large_amount", {"amount": 100}, action="hold")
    held = services.payment_hold_check(observation=observation(merchant, amount=100), hold_object_id="pay-2")
    assert (held.rule, held.hold_object_id) == (holding, "pay-2")
    # Changed by raw SQL, as by any writer: the next payment sees the rule as it is now.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE compliance_monitoringrule SET enabled = false WHERE id = %s", [holding.pk])
    assert services.payment_hold_check(observation=observation(merchant, amount=100), hold_object_id="pay-3") is None


def test_without_a_hold_rule_the_hold_check_records_the_payment_in_two_statements():
    merchant = profile()
    rule("large_amount", {"amount": 100})
    services.payment_hold_check(observation=observation(merchant, amount=100), hold_object_id="pay-1")
    movement = observation(merchant, amount=100)
    with transaction.atomic(), CaptureQueriesContext(connection) as statements:
        assert services.payment_hold_check(observation=movement, hold_object_id="pay-2") is None
    # The record, and one small query comparing the rules' row versions with those read before: no savepoint.
    assert len(statements) == 2
    assert MonitoredEvent.objects.filter(source_id=movement.source_id).count() == 1


def test_every_window_of_a_movement_is_read_in_one_statement():
    merchant = profile()
    card = rule("velocity", {"dimension": "card_fingerprint", "measure": "count", "threshold": 2, "window_minutes": 60})
    volume = rule("velocity", {"dimension": "merchant", "measure": "sum", "threshold": 300, "window_minutes": 60})
    services.observation_evaluate(observation=observation(merchant, amount=100, card_fingerprint="c" * 64))
    second = observation(merchant, amount=200, card_fingerprint="c" * 64)
    with CaptureQueriesContext(connection) as statements:
        raised = services.observation_evaluate(observation=second)
    assert sorted(alert.rule.name for alert in raised) == sorted([card.name, volume.name])
    assert sum("count(*)" in statement["sql"] for statement in statements) == 1


def test_the_wallet_transfer_tail_reads_each_transfer_once():
    merchant = profile()
    large = rule("large_amount", {"amount": 5 * BHD})
    source = ledger_factories.funding(merchant_id=merchant.merchant_id)
    target = ledger_factories.wallet(merchant_id=merchant.merchant_id)
    outcome = ledger_factories.post_one(source, target, 5 * BHD, merchant_id=merchant.merchant_id)
    assert services.wallet_transfers_monitor() == 1
    assert services.wallet_transfers_monitor() == 0  # the overlap reads it again, and skips it
    alert, = _alerts(large)
    assert alert.event_key == f"ledger.transfer:{outcome.transfer_id}"
    event = MonitoredEvent.objects.get(source="ledger.transfer")
    assert (event.wallet, event.amount) == (ids.encode("acc", source.pk), 5 * BHD)


def test_the_wallet_transfer_tail_leaves_a_wallet_payment_to_its_own_event():
    merchant = profile()
    rule("large_amount", {"amount": 5 * BHD})
    wallet = ledger_factories.wallet(merchant_id=merchant.merchant_id)
    ledger_factories.fund(wallet, 10 * BHD)
    ledger_factories.post_one(wallet, ledger_factories.funding(merchant_id=merchant.merchant_id), 5 * BHD,
                              merchant_id=merchant.merchant_id, created_by="payments")
    services.wallet_transfers_monitor()
    assert not MonitoredEvent.objects.filter(source="ledger.transfer", wallet=ids.encode("acc", wallet.pk)).exists()


def test_observations_for_a_subject_newest_first():
    merchant, now = profile(), clock.now()
    older = observation(merchant, at=now - timedelta(minutes=1), wallet="acc_0000000000000000000000000A")
    newer = observation(merchant, at=now)
    for movement in (older, newer):
        services.observation_record(observation=movement)
    assert [event.source_id for event in selectors.observations_for(
        subject_type="merchant", subject_id=str(merchant.merchant_id), limit=5)] == [newer.source_id, older.source_id]
    assert [event.source_id for event in selectors.observations_for(
        subject_type="wallet", subject_id="acc_0000000000000000000000000A")] == [older.source_id]


def test_a_backtest_counts_what_a_proposed_rule_would_have_raised_and_writes_nothing():
    merchant, now = profile(), clock.now()
    for days_ago, amount in ((40, 900), (3, 900), (2, 100), (1, 1000)):
        services.observation_record(observation=observation(merchant, amount=amount,
                                                            at=now - timedelta(days=days_ago)))
    proposed = MonitoringRule(name="Proposed", kind="large_amount", parameters={"BHD": {"amount": 900}},
                              severity="high")
    result = services.rule_backtest(rule=proposed, days=30)
    assert (result.events, result.alerts, result.subjects) == (3, 2, 1)
    assert not MonitoringRule.objects.filter(name="Proposed").exists()
    assert Alert.objects.count() == 0


def _rule_arguments(**changes):
    return {"rule_id": None, "name": "Very large amount", "kind": "large_amount", "description": "",
            "parameters": {"BHD": {"amount": 100}}, "severity": "high", "action": "alert", "hold_hours": 24,
            "enabled": True, "scope": "all", "scope_risk_tier": "", "scope_merchant_id": None, **changes}


def test_a_rule_is_created_and_changed_through_maker_checker_with_its_backtest(officer, supervisor):
    services.observation_record(observation=observation(profile(), amount=150))
    request = approvals.approval_request_create(action=services.RULE_SET, arguments=_rule_arguments(),
                                                user=officer, reason="CBB threshold")
    assert "backtest over the last 30 days: 1 alerts on 1 subjects" in request.target_label
    assert not MonitoringRule.objects.filter(name="Very large amount").exists()
    approvals.approval_request_approve(request_id=request.pk, user=supervisor, otp_token=totp_code(supervisor))
    created = MonitoringRule.objects.get(name="Very large amount")
    assert (created.version, created.updated_by) == (1, "olivia, approved by sara")

    change = approvals.approval_request_create(
        action=services.RULE_SET, user=officer, reason="higher",
        arguments=_rule_arguments(rule_id=created.pk, parameters={"BHD": {"amount": 200}}))
    assert "v1 → v2" in change.target_label and "0 alerts" in change.target_label
    # The next step's code: a TOTP code is accepted once.
    approvals.approval_request_approve(request_id=change.pk, user=supervisor,
                                       otp_token=totp_code(supervisor, steps=1))
    created.refresh_from_db()
    assert (created.version, created.parameters) == (2, {"BHD": {"amount": 200}})
    assert list(AuditEvent.objects.filter(object_type="compliance.monitoringrule").values_list(
        "action", flat=True).order_by("id")) == ["monitoring_rule.created", "monitoring_rule.changed"]


def test_a_rule_with_parameters_its_kind_does_not_take_is_refused_when_requested(officer):
    with pytest.raises(approvals.InvalidRequest, match="amount is required"):
        approvals.approval_request_create(action=services.RULE_SET, user=officer, reason="r",
                                          arguments=_rule_arguments(parameters={"BHD": {}}))


def test_a_risk_tier_changes_through_maker_checker(officer, supervisor):
    merchant = profile(risk_tier="medium")
    request = approvals.approval_request_create(
        action=services.RISK_TIER_SET, user=officer, reason="PEP owner",
        arguments={"merchant_id": str(merchant.merchant_id), "risk_tier": "high"})
    assert request.target_label == "Acme Trading: Medium → High risk"
    approvals.approval_request_approve(request_id=request.pk, user=supervisor, otp_token=totp_code(supervisor))
    merchant.refresh_from_db()
    assert merchant.risk_tier == "high"
