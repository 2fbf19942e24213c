"""Compliance screens and monitors merchants from its own profile of each (name, country, when
onboarded), which the merchants app keeps from now on in the transaction of each change; this gives
the merchants onboarded before that their profile. A profile that exists already is left as it is
(its risk tier is compliance's). Reversing it leaves the profiles: compliance's, not ours to delete."""

from django.db import migrations

from apps.core import clock


def profiles_create(apps, schema_editor):
    Merchant = apps.get_model("merchants", "Merchant")
    MerchantProfile = apps.get_model("compliance", "MerchantProfile")
    now = clock.now()
    merchants = Merchant.objects.order_by("pk").values_list("pk", "legal_name", "country", "created_at")
    MerchantProfile.objects.bulk_create(
        [MerchantProfile(merchant_id=pk, legal_name=legal_name, country=country, onboarded_at=created_at,
                         updated_at=now) for pk, legal_name, country, created_at in merchants.iterator()],
        batch_size=1000, ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("merchants", "0003_bank_account_guards_and_roles"), ("compliance", "0003_monitoring_and_cases")]

    operations = [migrations.RunPython(profiles_create, migrations.RunPython.noop)]
