"""What compliance knows of each merchant, kept by the merchants app (which sits above compliance)."""

from datetime import datetime
from uuid import UUID

from django.db import transaction

from apps.compliance.models import MerchantProfile
from apps.core import clock
from apps.events.outbox.services import outbox_enqueue

# Sanctions screening's task (apps.compliance.tasks.sanctions), named here because screening sits
# above profiles: a new merchant, or a new legal name, is screened once the change commits.
MERCHANT_SCREEN_TASK = "compliance.sanctions_merchant_screen"


def merchant_profile_sync(*, merchant_id: UUID, legal_name: str, country: str,
                          onboarded_at: datetime) -> MerchantProfile:
    """Record a merchant's name and country as they are now (the merchants app calls it in the
    transaction of each onboarding or change); its risk tier is compliance's and stays. A new
    merchant, or a new legal name, is screened against the sanctions lists after the commit."""
    with transaction.atomic():
        previous_name = (MerchantProfile.objects.filter(merchant_id=merchant_id)
                         .values_list("legal_name", flat=True).first())
        profile, _ = MerchantProfile.objects.update_or_create(
            merchant_id=merchant_id,
            defaults={"legal_name": legal_name, "country": country, "onboarded_at": onboarded_at,
                      "updated_at": clock.now()},
        )
        if previous_name != legal_name:
            outbox_enqueue(task=MERCHANT_SCREEN_TASK, kwargs={"merchant_id": str(merchant_id)}, queue="compliance")
    return profile
