"""Compliance's models, one module per part: maker-checker, alerts and cases (with the monitoring
rules that raise them), monitoring's observations, sanctions lists and screening, case files."""

from apps.compliance.models.alerts import Alert, Case, MerchantProfile, MonitoringRule, RiskTier
from apps.compliance.models.approvals import Approval, ApprovalPolicy, ApprovalRequest
from apps.compliance.models.monitoring import HighRiskJurisdiction, MonitoredEvent, MonitoringCursor

__all__ = ["Alert", "Approval", "ApprovalPolicy", "ApprovalRequest", "Case", "HighRiskJurisdiction", "MerchantProfile",
           "MonitoredEvent", "MonitoringCursor", "MonitoringRule", "RiskTier"]
