from collections.abc import Mapping
from typing import Any

from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "apps.reconciliation"
    label = "reconciliation"
    verbose_name = "Reconciliation"

    def ready(self) -> None:
        # A payout sent by file, and a sweep, are expected as soon as payments or treasury announce
        # them (the beat sweep is the safety net).
        from apps.events.outbox.subscriptions import subscribe
        from apps.reconciliation.actions import register_break_actions

        subscribe("payments.payout_updated", task="reconciliation.expect_payout", queue="reconciliation")
        subscribe("treasury.sweep_sent", task="reconciliation.expect_sweep", queue="reconciliation")
        register_sensitive_actions()
        register_break_actions()


def register_sensitive_actions() -> None:
    """Creating and changing a matching rule need a second person: a rule decides which bank
    movements fincore takes as the money it expected (and, for connector settlements, posts)."""
    from apps.compliance.data import SensitiveAction, Target
    from apps.compliance.services import sensitive_action_register
    from apps.reconciliation.matching.criteria import MatchingRuleInvalid
    from apps.reconciliation.services import rules

    def describe_create(arguments: Mapping[str, Any]) -> Target:
        if arguments.get("rule_id"):
            raise MatchingRuleInvalid("A new rule names no rule to change.")
        return rules.matching_rule_describe(arguments)

    def describe_change(arguments: Mapping[str, Any]) -> Target:
        if not arguments.get("rule_id"):
            raise MatchingRuleInvalid("Name the rule to change.")
        return rules.matching_rule_describe(arguments)

    permission = "reconciliation.request_matchingrule_change"
    sensitive_action_register(SensitiveAction(
        name=rules.RULE_CREATE, label="Create a matching rule", service=rules.matching_rule_create,
        describe=describe_create, permission=permission))
    sensitive_action_register(SensitiveAction(
        name=rules.RULE_CHANGE, label="Change a matching rule", service=rules.matching_rule_change,
        describe=describe_change, permission=permission))
