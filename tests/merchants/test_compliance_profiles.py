"""Compliance's profile of each merchant, kept by the merchants app: made with the merchant,
renewed in the same transaction when its name or country changes (its risk tier, compliance's,
stays), and made by a data migration for merchants onboarded before."""

import importlib

import pytest
from django.apps import apps as django_apps

from apps.compliance.models import MerchantProfile
from apps.merchants import services
from apps.merchants.models import Merchant
from tests.factories.merchants import FACTORY_ACTOR

pytestmark = pytest.mark.django_db


def test_an_onboarded_merchant_has_its_profile():
    merchant = services.merchant_create(legal_name="  Gulf Traders W.L.L. ", country="BH", currencies=["BHD"],
                                        actor=FACTORY_ACTOR)

    profile = MerchantProfile.objects.get(merchant_id=merchant.pk)
    assert (profile.legal_name, profile.country, profile.onboarded_at, profile.risk_tier) == (
        "Gulf Traders W.L.L.", "BH", merchant.created_at, "medium")


def test_a_new_name_or_country_reaches_the_profile_and_its_risk_tier_stays():
    merchant = services.merchant_create(legal_name="Gulf Traders", country="BH", currencies=["BHD"],
                                        actor=FACTORY_ACTOR)
    MerchantProfile.objects.filter(merchant_id=merchant.pk).update(risk_tier="high")

    services.merchant_update(merchant_id=merchant.pk, changes={"legal_name": "Gulf Traders Holding", "country": "AE"},
                             actor=FACTORY_ACTOR, reason="new registration")

    profile = MerchantProfile.objects.get(merchant_id=merchant.pk)
    assert (profile.legal_name, profile.country, profile.risk_tier) == ("Gulf Traders Holding", "AE", "high")


def test_a_refused_change_leaves_the_profile_as_it_was():
    merchant = services.merchant_create(legal_name="Gulf Traders", country="BH", currencies=["BHD"],
                                        actor=FACTORY_ACTOR)

    with pytest.raises(services.InvalidMerchant):
        services.merchant_update(merchant_id=merchant.pk, changes={"legal_name": "Renamed", "country": "XX"},
                                 actor=FACTORY_ACTOR, reason="typo")

    assert MerchantProfile.objects.get(merchant_id=merchant.pk).legal_name == "Gulf Traders"


def test_the_migration_gives_merchants_onboarded_before_a_profile_and_keeps_existing_ones():
    migration = importlib.import_module("apps.merchants.migrations.0004_compliance_profiles")
    before = Merchant.objects.create(legal_name="Old Merchant", country="KW", currencies=["KWD"])
    known = services.merchant_create(legal_name="Known", country="BH", currencies=["BHD"], actor=FACTORY_ACTOR)
    MerchantProfile.objects.filter(merchant_id=known.pk).update(risk_tier="low")

    migration.profiles_create(django_apps, None)

    made = MerchantProfile.objects.get(merchant_id=before.pk)
    assert (made.legal_name, made.country, made.onboarded_at) == ("Old Merchant", "KW", before.created_at)
    assert MerchantProfile.objects.get(merchant_id=known.pk).risk_tier == "low"
