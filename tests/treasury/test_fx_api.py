"""The FX merchant API over HTTP: quotes, conversions, idempotent replays, another merchant's
objects not found, problem details, and the schema."""

import pytest
import yaml

from apps.treasury.models import FxConversion
from tests.factories.merchants import authenticated_client, merchant_with_key
from tests.treasury.fx_helpers import funded_wallet, posted, rate

pytestmark = pytest.mark.django_db

QUOTES, CONVERSIONS = "/api/v1/fx_quotes", "/api/v1/conversions"


@pytest.fixture
def merchant():
    merchant, secret = merchant_with_key(currencies=["BHD", "USD"])
    return merchant, authenticated_client(secret)


def _acc(account) -> str:
    from apps.core import ids

    return ids.encode("acc", account.pk)


def test_quote_then_convert_bhd_to_usd(merchant):
    merchant, client = merchant
    rate("USD", "BHD", "0.376", "0.0025")
    bhd, usd = funded_wallet(merchant.pk, "BHD", 100000), funded_wallet(merchant.pk, "USD", 0)

    quoted = client.post(QUOTES, {"sell_currency": "BHD", "buy_currency": "USD", "sell_amount": 100000},
                         format="json")
    assert quoted.status_code == 201, quoted.content
    quote = quoted.json()
    # 1/0.376 = 2.6595744681, less 25 bp = 2.65292553192975 USD per BHD; 100.000 BHD -> 265.29 USD.
    assert {k: quote[k] for k in ("rate", "mid_rate", "spread", "sell", "buy")} == {
        "rate": "2.65292553192975", "mid_rate": "2.6595744681", "spread": "0.0025",
        "sell": {"amount": 100000, "currency": "BHD"}, "buy": {"amount": 26529, "currency": "USD"}}

    body = {"quote": quote["id"], "sell_account": _acc(bhd), "buy_account": _acc(usd)}
    converted = client.post(CONVERSIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="fx-1")
    assert converted.status_code == 201, converted.content
    conversion = converted.json()
    assert (conversion["sell"]["amount"], conversion["buy"]["amount"], conversion["rate"]) == (
        100000, 26529, "2.65292553192975")
    assert conversion["transfers"]["sell"].startswith("tr_")
    assert (posted(bhd), posted(usd)) == (0, 26529)

    replayed = client.post(CONVERSIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="fx-1")
    assert (replayed.status_code, replayed.headers["Idempotent-Replayed"], replayed.json()) == (201, "true", conversion)
    again = client.post(CONVERSIONS, body, format="json")
    assert (again.status_code, again.json()["id"]) == (200, conversion["id"])
    assert FxConversion.objects.count() == 1

    assert client.get(f"{CONVERSIONS}/{conversion['id']}").json() == conversion
    assert [c["id"] for c in client.get(CONVERSIONS).json()["results"]] == [conversion["id"]]


def test_refusals_are_problem_details(merchant):
    merchant, client = merchant
    rate("USD", "BHD", age_seconds=4000)
    stale = client.post(QUOTES, {"sell_currency": "USD", "buy_currency": "BHD", "sell_amount": 100}, format="json")
    assert (stale.status_code, stale.json()["code"]) == (422, "fx_rate_stale")
    both = client.post(QUOTES, {"sell_currency": "USD", "buy_currency": "BHD", "sell_amount": 1, "buy_amount": 1},
                       format="json")
    assert (both.status_code, both.json()["code"]) == (400, "validation_error")
    same = client.post(QUOTES, {"sell_currency": "USD", "buy_currency": "USD", "sell_amount": 1}, format="json")
    assert (same.status_code, same.json()["code"]) == (422, "fx_same_currency")
    missing = client.post(CONVERSIONS, {"quote": "fxq_01M8W0567DF08BFWCGQE1DJEE6",
                                        "sell_account": "acc_01M8W0567DF08BFWCGQE1DJEE6",
                                        "buy_account": "acc_01M8W0567DF08BFWCGQE1DJEE7"}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (404, "fx_quote_not_found")


def test_another_merchants_conversion_is_not_found(merchant):
    merchant, client = merchant
    rate("USD", "BHD")
    bhd, usd = funded_wallet(merchant.pk, "BHD", 0), funded_wallet(merchant.pk, "USD", 10000)
    quote = client.post(QUOTES, {"sell_currency": "USD", "buy_currency": "BHD", "sell_amount": 10000},
                        format="json").json()
    conversion = client.post(CONVERSIONS, {"quote": quote["id"], "sell_account": _acc(usd), "buy_account": _acc(bhd)},
                             format="json").json()
    other, other_secret = merchant_with_key(currencies=["BHD", "USD"])
    other_client = authenticated_client(other_secret)
    assert other_client.get(f"{CONVERSIONS}/{conversion['id']}").status_code == 404
    assert other_client.get(CONVERSIONS).json()["results"] == []
    other_wallet = funded_wallet(other.pk, "BHD", 0)
    quote = client.post(QUOTES, {"sell_currency": "USD", "buy_currency": "BHD", "sell_amount": 100},
                        format="json").json()
    stolen = client.post(CONVERSIONS, {"quote": quote["id"], "sell_account": _acc(usd),
                                       "buy_account": _acc(other_wallet)}, format="json")
    assert (stolen.status_code, stolen.json()["code"]) == (404, "fx_account_not_found")


def test_the_schema_has_the_fx_endpoints(client):
    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    assert {"/api/v1/fx_quotes", "/api/v1/conversions", "/api/v1/conversions/{conversion_id}"} <= set(schema["paths"])
    assert schema["paths"]["/api/v1/fx_quotes"]["post"]["operationId"] == "fx_quotes_create"
