"""Monitoring's maker-checker actions: a rule created or changed (with its backtest on the request
the checker reads), a merchant's risk tier, a country on or off FATF's lists."""

from apps.compliance import services as approvals
from apps.compliance.data import SensitiveAction
from apps.compliance.monitoring import services


def register() -> None:
    approvals.sensitive_action_register(SensitiveAction(
        name=services.RULE_SET, label="Create or change a monitoring rule", service=services.monitoring_rule_set,
        describe=services.monitoring_rule_describe, permission="compliance.request_monitoring_rule_change",
    ))
    approvals.sensitive_action_register(SensitiveAction(
        name=services.RISK_TIER_SET, label="Change a merchant's risk tier", service=services.risk_tier_set,
        describe=services.risk_tier_describe, permission="compliance.request_risk_tier_change",
    ))
    approvals.sensitive_action_register(SensitiveAction(
        name=services.JURISDICTION_SET, label="Change the high-risk jurisdictions",
        service=services.high_risk_jurisdiction_set, describe=services.jurisdiction_describe,
        permission="compliance.request_jurisdiction_change",
    ))
