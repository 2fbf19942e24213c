"""Cursor pagination, through the API key list: newest first, stable, bounded, constant queries."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import ids
from apps.merchants.models import ApiKey, Merchant
from tests.core.api.assertions import assert_problem
from tests.factories.merchants import api_key_issue, authenticated_client, merchant_with_key

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
KEYS = 120


@pytest.fixture
def merchant_with_120_keys() -> tuple[Merchant, str, list[str]]:
    """A merchant with 120 keys made a second apart, and their public ids newest first."""
    with time_machine.travel(T0, tick=False) as traveller:
        merchant, secret = merchant_with_key()
        for number in range(1, KEYS):
            traveller.shift(timedelta(seconds=1))
            api_key_issue(merchant, name=f"till {number}")
    newest_first = [
        ids.encode("key", pk)
        for pk in ApiKey.objects.filter(merchant=merchant).order_by("-created_at").values_list("pk", flat=True)
    ]
    return merchant, secret, newest_first


def _path(url: str) -> str:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("http", "testserver")
    return f"{parts.path}?{parts.query}"


def _ids(response) -> list[str]:
    return [api_key["id"] for api_key in response.json()["results"]]


def test_pages_of_50_newest_first_without_gaps_or_duplicates(merchant_with_120_keys):
    _merchant, secret, newest_first = merchant_with_120_keys
    client = authenticated_client(secret)

    first = client.get("/api/v1/api_keys")
    second = client.get(_path(first.json()["next"]))
    third = client.get(_path(second.json()["next"]))

    assert [first.status_code, second.status_code, third.status_code] == [200, 200, 200]
    assert set(first.json()) == {"results", "next", "previous"}
    assert first.json()["previous"] is None
    assert third.json()["next"] is None
    assert _ids(first) == newest_first[:50]
    assert _ids(second) == newest_first[50:100]
    assert _ids(third) == newest_first[100:]
    assert first.json()["results"][0]["name"] == "till 119"
    assert third.json()["results"][-1]["name"] == "checkout server"
    # Going back gives the same page again.
    back = client.get(_path(second.json()["previous"]))
    assert _ids(back) == newest_first[:50]


def test_keys_added_while_paging_do_not_shift_the_pages(merchant_with_120_keys):
    merchant, secret, newest_first = merchant_with_120_keys
    client = authenticated_client(secret)
    first = client.get("/api/v1/api_keys")

    api_key_issue(merchant, name="added meanwhile")
    second = client.get(_path(first.json()["next"]))

    assert _ids(second) == newest_first[50:100]


def test_limit_sets_the_page_size_and_travels_in_the_links(merchant_with_120_keys):
    _merchant, secret, newest_first = merchant_with_120_keys
    client = authenticated_client(secret)

    first = client.get("/api/v1/api_keys?limit=7")
    second = client.get(_path(first.json()["next"]))

    assert _ids(first) == newest_first[:7]
    assert parse_qs(urlsplit(first.json()["next"]).query)["limit"] == ["7"]
    assert _ids(second) == newest_first[7:14]


def test_limit_takes_1_to_100(merchant_with_120_keys):
    _merchant, secret, newest_first = merchant_with_120_keys
    client = authenticated_client(secret)

    sizes = {limit: len(_ids(client.get(f"/api/v1/api_keys?limit={limit}"))) for limit in ("1", "100")}

    assert sizes == {"1": 1, "100": 100}
    assert _ids(client.get("/api/v1/api_keys?limit=100")) == newest_first[:100]


@pytest.mark.parametrize("query", ["limit=101", "limit=100000", "limit=0", "limit=-5", "limit=ten", "limit=",
                                   "limit=1.5", "limit=%D9%A5", "limit=5&limit=6"])
def test_any_other_limit_is_refused_not_replaced(merchant_with_120_keys, query):
    """A page size the caller did not ask for is not silently given instead (found by schemathesis)."""
    _merchant, secret, _newest_first = merchant_with_120_keys

    response = authenticated_client(secret).get(f"/api/v1/api_keys?{query}")

    body = assert_problem(response, status=400, code="validation_error")
    assert body["errors"] == [{"field": "limit", "code": "invalid", "detail": "Give one whole number from 1 to 100."}]


@pytest.mark.parametrize("cursor", [
    "bz14",  # base64 of "o=x": an offset that is not a number
    "YQ",  # not base64 (its padding is missing)
    "cD1ub3QtYS11dWlk",  # base64 of "p=not-a-uuid": a position the key list's order cannot hold
    "w6k=",  # base64 of "é": not ASCII
], ids=["offset", "not-base64", "position", "not-ascii"])
def test_a_cursor_fincore_did_not_make_is_a_400_problem(merchant_with_120_keys, cursor):
    _merchant, secret, _newest_first = merchant_with_120_keys

    response = authenticated_client(secret).get(f"/api/v1/api_keys?cursor={cursor}")

    assert_problem(response, status=400, code="invalid_cursor", detail="The cursor is not valid")


def test_a_forged_position_on_a_statement_is_a_400_too(merchant_client):
    account = merchant_client.post("/api/v1/accounts", {"currency": "BHD"}, format="json").json()

    # base64 of "p=x": entries are ordered by a number.
    response = merchant_client.get(f"/api/v1/accounts/{account['id']}/statement?cursor=cD14")

    assert_problem(response, status=400, code="invalid_cursor")


def test_queries_do_not_grow_with_the_page_size(merchant_with_120_keys, django_assert_max_num_queries):
    _merchant, secret, _newest_first = merchant_with_120_keys
    client = authenticated_client(secret)
    client.get("/api/v1/merchant")  # notes the key as used, so no request below writes

    with CaptureQueriesContext(connection) as small:
        assert len(_ids(client.get("/api/v1/api_keys?limit=2"))) == 2
    with django_assert_max_num_queries(2):
        assert len(_ids(client.get("/api/v1/api_keys?limit=100"))) == 100

    assert len(small) == 2


def test_a_single_page_has_no_links(db):
    merchant, secret = merchant_with_key()
    ApiKey.objects.filter(merchant=merchant).update(name="the only one")

    response = authenticated_client(secret).get("/api/v1/api_keys")

    assert response.json()["next"] is None
    assert response.json()["previous"] is None
    assert [api_key["name"] for api_key in response.json()["results"]] == ["the only one"]
