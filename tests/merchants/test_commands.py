"""``manage.py merchant_create``: a merchant and a working key in one command."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from apps.audit.models import AuditEvent
from apps.core import ids
from apps.merchants.models import ApiKey, Merchant
from tests.factories.merchants import api_key_of, authenticated_client

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    output = io.StringIO()
    call_command("merchant_create", *args, stdout=output)
    return output.getvalue()


def test_json_output_gives_a_key_that_works():
    printed = json.loads(_run("--name", "Gulf Coffee W.L.L.", "--json"))

    assert set(printed) == {"merchant_id", "secret_key"}
    merchant = Merchant.objects.get()
    assert printed["merchant_id"] == ids.encode("mer", merchant.pk)
    assert (merchant.legal_name, merchant.country, merchant.currencies) == ("Gulf Coffee W.L.L.", "BH", ["BHD"])
    assert printed["secret_key"].startswith("fc_test_")
    response = authenticated_client(printed["secret_key"]).get("/api/v1/merchant")
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["livemode"]) == (printed["merchant_id"], False)
    assert sorted(AuditEvent.objects.values_list("action", "actor_type")) == [
        ("api_key.created", "system"),
        ("merchant.created", "system"),
    ]
    assert api_key_of(printed["secret_key"]).name == "first key"


def test_options_set_country_currencies_and_a_live_key():
    printed = json.loads(
        _run("--name", "Dubai Dates", "--country", "AE", "--currency", "AED", "--currency", "USD", "--mode", "live",
             "--json")
    )

    merchant = Merchant.objects.get()
    assert (merchant.country, merchant.currencies) == ("AE", ["AED", "USD"])
    assert printed["secret_key"].startswith("fc_live_")
    assert authenticated_client(printed["secret_key"]).get("/api/v1/merchant").json()["livemode"] is True


def test_plain_output_names_the_merchant_and_the_secret():
    output = _run("--name", "Gulf Coffee W.L.L.")

    merchant, api_key = Merchant.objects.get(), ApiKey.objects.get()
    merchant_line, secret_line = output.splitlines()
    assert merchant_line == f"merchant {ids.encode('mer', merchant.pk)} (Gulf Coffee W.L.L.)"
    assert secret_line.startswith("secret key fc_test_")
    assert api_key_of(secret_line.removeprefix("secret key ")) == api_key


def test_invalid_details_are_a_command_error_and_write_nothing():
    with pytest.raises(CommandError, match="'XX' is not an ISO 3166 country code"):
        _run("--name", "Nowhere Ltd", "--country", "XX", "--json")

    assert not Merchant.objects.exists()
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.exists()
