"""Observations and rules for monitoring's tests."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from apps.compliance.data import Observation, ObservationKind
from apps.compliance.models import MerchantProfile, MonitoringRule
from apps.core import clock


def profile(*, risk_tier: str = "medium", onboarded_days_ago: int = 365, name: str = "Acme Trading") -> MerchantProfile:
    now = clock.now()
    return MerchantProfile.objects.create(merchant_id=uuid.uuid4(), legal_name=name, country="BH", risk_tier=risk_tier,
                                          onboarded_at=now - timedelta(days=onboarded_days_ago), updated_at=now)


def observation(merchant: MerchantProfile, *, amount: int = 1000, kind: str = ObservationKind.PAYMENT,
                at: datetime | None = None, currency: str = "BHD", **fields: Any) -> Observation:
    source = {"payment": "payments.payment", "refund": "payments.refund", "payout": "payments.payout",
              "transfer": "ledger.transfer"}[kind]
    return Observation(source=source, source_id=str(uuid.uuid4()), kind=kind, merchant_id=merchant.merchant_id,
                       livemode=True, amount=amount, currency=currency, occurred_at=at or clock.now(), **fields)


def rule(kind: str, parameters: dict[str, Any], **fields: Any) -> MonitoringRule:
    return MonitoringRule.objects.create(
        name=fields.pop("name", f"Test {kind} {uuid.uuid4().hex[:6]}"), kind=kind, parameters={"BHD": parameters},
        severity=fields.pop("severity", "medium"), updated_at=clock.now(), updated_by="tests", **fields)
