"""Nostro accounts in the admin: a superuser changes one only with a reason, which django-auditlog
keeps with the change; none is ever deleted (payouts, files and statements name it)."""

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from apps.treasury.models import NostroAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def nostro() -> NostroAccount:
    return NostroAccount.objects.create(code="nbb-bhd-01", currency="BHD", bank_name="National Bank of Bahrain",
                                        bic="NBOBBHBM", iban="BH67NBOB00001299123456", account_name="Fincore B.S.C.",
                                        pays_out=True)


def _form(nostro: NostroAccount, **changes: str) -> dict[str, str]:
    return {"code": nostro.code, "currency": nostro.currency, "bank_name": nostro.bank_name, "bic": nostro.bic,
            "iban": nostro.iban, "account_name": nostro.account_name, "pays_out": "on", **changes}


def _changes(nostro: NostroAccount) -> list[LogEntry]:
    return list(LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(nostro),
                                        object_pk=str(nostro.pk), actor__isnull=False))


def test_a_nostro_account_changes_only_with_a_reason_kept_with_the_change(admin_client, admin_user, nostro):
    url = reverse("admin:treasury_nostroaccount_change", args=[nostro.pk])

    refused = admin_client.post(url, _form(nostro, bank_name="NBB"))
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {"change_reason": ["This field is required."]}
    nostro.refresh_from_db()
    assert nostro.bank_name == "National Bank of Bahrain"
    assert _changes(nostro) == []

    saved = admin_client.post(url, _form(nostro, bank_name="NBB", change_reason="the bank's new name, ticket T-7"))
    assert saved.status_code == 302
    nostro.refresh_from_db()
    assert nostro.bank_name == "NBB"
    [entry] = _changes(nostro)
    assert (entry.actor, entry.additional_data, entry.changes_dict) == (
        admin_user, {"reason": "the bank's new name, ticket T-7"},
        {"bank_name": ["National Bank of Bahrain", "NBB"]})


def test_a_nostro_account_is_never_deleted(admin_client, nostro):
    response = admin_client.post(reverse("admin:treasury_nostroaccount_delete", args=[nostro.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert NostroAccount.objects.filter(pk=nostro.pk).exists()
