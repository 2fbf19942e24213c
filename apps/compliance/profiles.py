"""What compliance knows of each merchant, kept by the merchants app (which sits above compliance)."""

from datetime import datetime
from uuid import UUID

from apps.compliance.models import MerchantProfile
from apps.core import clock


def merchant_profile_sync(*, merchant_id: UUID, legal_name: str, country: str,
                          onboarded_at: datetime) -> MerchantProfile:
    """Record a merchant's name and country as they are now (the merchants app calls it in the
    transaction of each onboarding or change); its risk tier is compliance's and stays."""
    profile, _ = MerchantProfile.objects.update_or_create(
        merchant_id=merchant_id,
        defaults={"legal_name": legal_name, "country": country, "onboarded_at": onboarded_at,
                  "updated_at": clock.now()},
    )
    return profile
