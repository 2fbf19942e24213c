import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from apps.core import ids
from apps.core.actors import Actor
from apps.merchants import selectors, services
from apps.merchants.models import Merchant
from apps.treasury.models import FxRate
from apps.treasury.selectors import fx as fx_selectors
from apps.treasury.selectors import nostros as treasury_selectors

pytestmark = pytest.mark.django_db


def _demo(credentials_file) -> dict:
    call_command("demo_setup", credentials_file=credentials_file, stdout=io.StringIO())
    return json.loads(credentials_file.read_text())


def test_demo_setup_is_idempotent_and_its_printed_secrets_work(tmp_path, api_client):
    credentials_file = tmp_path / "demo.json"
    first = _demo(credentials_file)
    second = _demo(credentials_file)

    assert first == second
    assert Merchant.objects.count() == 2
    assert (credentials_file.stat().st_mode & 0o777) == 0o600
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(first["admin_password"])
    # One person per role, for the README's day in the admin (a freeze needs a maker and a checker).
    staff = {user.username: user for user in get_user_model().objects.filter(username__in=first["staff"])}
    assert {name: [group.name for group in user.groups.all()] for name, user in staff.items()} == {
        "olivia": ["Compliance officer"], "sara": ["Compliance supervisor"], "tariq": ["Treasury operator"],
        "salma": ["Support (read-only)"],
    }
    assert all(user.is_staff and not user.is_superuser and user.check_password(first["staff"][name])
               for name, user in staff.items())
    for demo in first["merchants"].values():
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {demo['secret_key']}")
        response = api_client.get("/api/v1/merchant")
        assert response.status_code == 200
        assert response.json()["id"] == demo["merchant_id"]


def test_demo_setup_replaces_a_secret_that_no_longer_works(tmp_path):
    credentials_file = tmp_path / "demo.json"
    first = _demo(credentials_file)
    demo = next(iter(first["merchants"].values()))
    revoked = selectors.api_key_by_secret_hash(services.hash_secret(demo["secret_key"]))
    services.api_key_revoke(api_key_id=revoked.pk, actor=Actor.system("test"), reason="leaked in a screenshot")

    second = _demo(credentials_file)

    replacement = next(iter(second["merchants"].values()))
    assert replacement["merchant_id"] == demo["merchant_id"]
    assert replacement["secret_key"] != demo["secret_key"]
    new_key = selectors.api_key_by_secret_hash(services.hash_secret(replacement["secret_key"]))
    assert not new_key.is_revoked
    assert ids.encode("mer", new_key.merchant_id) == demo["merchant_id"]
    assert Merchant.objects.count() == 2


def test_demo_setup_prints_where_to_go(tmp_path):
    out = io.StringIO()
    call_command("demo_setup", credentials_file=tmp_path / "demo.json", base_url="http://localhost:9000", stdout=out)
    printed = out.getvalue()
    assert "http://localhost:9000/admin/" in printed
    assert "http://localhost:9000/api/v1/docs/" in printed
    assert "fc_test_" in printed


def test_the_demo_wallets_are_test_money_the_demo_key_can_use(tmp_path, api_client):
    credentials = _demo(tmp_path / "demo.json")
    _demo(tmp_path / "demo.json")  # again: nothing new, alice funded once
    first = next(iter(credentials["merchants"].values()))
    accounts = credentials["accounts"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {first['secret_key']}")

    listed = api_client.get("/api/v1/accounts").json()["results"]

    assert first["secret_key"].startswith("fc_test_")
    assert {account["reference"]: (account["id"], account["livemode"]) for account in listed} == {
        "demo-funding": (accounts["demo-funding"], False), "alice": (accounts["alice"], False),
        "bob": (accounts["bob"], False),
    }
    assert api_client.get(f"/api/v1/accounts/{accounts['alice']}/balance").json() == {
        "currency": "BHD", "posted": 100_000, "pending": 0, "available": 100_000}
    # The transfers API can be tried at once: alice pays bob.
    response = api_client.post("/api/v1/transfers", {"debit_account": accounts["alice"], "credit_account":
                                                     accounts["bob"], "amount": 2500, "currency": "BHD"},
                               format="json")
    assert (response.status_code, response.json()["livemode"]) == (201, False)


def test_the_demo_pays_bhd_out_from_a_nostro_to_each_merchants_bank_account(tmp_path):
    for _ in range(2):  # idempotent
        call_command("demo_setup", credentials_file=tmp_path / "demo.json", stdout=io.StringIO())
    nostro = treasury_selectors.payout_nostro(currency="BHD")
    assert (nostro.code, nostro.iban) == ("demo-bhd-nostro", "BH96NBOB00000099887766")
    for merchant in Merchant.objects.all():
        account = selectors.payout_bank_account(merchant_id=merchant.pk, currency="BHD")
        assert account is not None and account.beneficiary_name == merchant.legal_name


def test_the_demo_has_a_second_nostro_thresholds_and_fresh_fx_rates(tmp_path):
    for _ in range(2):  # idempotent: fresh rates are not imported again
        call_command("demo_setup", credentials_file=tmp_path / "demo.json", stdout=io.StringIO())
    assert treasury_selectors.nostro_codes() == ["demo-bhd-bbk", "demo-bhd-nostro"]
    assert {treasury_selectors.nostro_threshold(code=code) for code in treasury_selectors.nostro_codes()} == {5_000_000}
    rates = fx_selectors.current_rates()
    pairs = sorted((rate.base_currency, rate.quote_currency) for rate in rates)
    assert pairs == [("BHD", "EUR"), ("BHD", "SAR"), ("BHD", "USD")]
    assert not any(fx_selectors.rate_is_stale(rate) for rate in rates)
    assert FxRate.objects.count() == 3
