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


def test_limit_is_capped_at_100_and_nonsense_gives_the_default(merchant_with_120_keys):
    _merchant, secret, newest_first = merchant_with_120_keys
    client = authenticated_client(secret)

    sizes = {
        limit: len(_ids(client.get(f"/api/v1/api_keys?limit={limit}")))
        for limit in ("1", "100", "101", "100000", "0", "-5", "ten", "")
    }

    assert sizes == {"1": 1, "100": 100, "101": 100, "100000": 100, "0": 50, "-5": 50, "ten": 50, "": 50}
    assert _ids(client.get("/api/v1/api_keys?limit=101")) == newest_first[:100]


def test_a_forged_cursor_is_a_404_problem(merchant_with_120_keys):
    _merchant, secret, _newest_first = merchant_with_120_keys

    # base64 of "o=x": a cursor whose offset is not a number.
    response = authenticated_client(secret).get("/api/v1/api_keys?cursor=bz14")

    assert_problem(response, status=404, code="not_found", detail="Invalid cursor")


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
