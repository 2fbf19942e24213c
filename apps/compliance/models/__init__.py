"""Compliance's models, one module per part: maker-checker, alerts and cases (with the monitoring
rules that raise them), monitoring's observations, sanctions lists and screening, case files."""

from apps.compliance.models.alerts import Alert, Case, MerchantProfile, MonitoringRule, RiskTier
from apps.compliance.models.approvals import Approval, ApprovalPolicy, ApprovalRequest
from apps.compliance.models.cases import ATTACHMENT_MAX_BYTES, CaseAttachment, CaseNote, StrReport
from apps.compliance.models.monitoring import HighRiskJurisdiction, MonitoredEvent, MonitoringCursor, MonitoringTally
from apps.compliance.models.sanctions import (
    SanctionsAllowListEntry,
    SanctionsEntry,
    SanctionsList,
    SanctionsListVersion,
    SanctionsRescreen,
    ScreeningHit,
)

__all__ = ["ATTACHMENT_MAX_BYTES", "Alert", "Approval", "ApprovalPolicy", "ApprovalRequest", "Case", "CaseAttachment",
           "CaseNote", "HighRiskJurisdiction", "MerchantProfile", "MonitoredEvent", "MonitoringCursor",
           "MonitoringRule", "MonitoringTally", "RiskTier", "SanctionsAllowListEntry", "SanctionsEntry",
           "SanctionsList", "SanctionsListVersion", "SanctionsRescreen", "ScreeningHit", "StrReport"]
