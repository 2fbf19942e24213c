"""Per-key rate limits in Redis (GCRA): the merchant's rate or the platform default, 429 past it."""

import logging
import time

import pytest
from django.test import override_settings

from apps.audit.models import AuditEvent
from apps.core import ids
from apps.core.models import IdempotencyRecord
from apps.merchants import services
from apps.merchants.models import Merchant
from tests.core.api.assertions import assert_problem
from tests.factories.merchants import FACTORY_ACTOR, api_key_issue, api_key_of, authenticated_client, merchant_with_key

pytestmark = pytest.mark.django_db


def _set_rate(merchant: Merchant, rate: str) -> None:
    services.merchant_update(merchant_id=merchant.pk, changes={"rate_limit": rate}, actor=FACTORY_ACTOR, reason="t")


def _statuses(client, count: int, path: str = "/api/v1/merchant") -> list[int]:
    return [client.get(path).status_code for _ in range(count)]


def test_the_merchants_rate_allows_a_burst_then_429(merchant, merchant_client):
    _set_rate(merchant, "3/second")

    statuses = _statuses(merchant_client, 3)
    refused = merchant_client.get("/api/v1/merchant")

    assert statuses == [200, 200, 200]
    body = assert_problem(refused, status=429, code="rate_limited")
    assert refused["Retry-After"] == "1"
    assert body["retry_after"] == 1
    # Retry-After is honest: a third of a second later one more request fits.
    time.sleep(0.35)
    assert merchant_client.get("/api/v1/merchant").status_code == 200


def test_each_key_has_its_own_budget(merchant, merchant_client):
    _set_rate(merchant, "2/minute")
    _other_merchant, other_secret = merchant_with_key(rate_limit="2/minute")
    second_key_client = authenticated_client(api_key_issue(merchant, name="second"))

    assert _statuses(merchant_client, 3) == [200, 200, 429]

    assert _statuses(second_key_client, 2) == [200, 200]
    assert _statuses(authenticated_client(other_secret), 2) == [200, 200]


@override_settings(FINCORE_API_RATE_LIMIT="2/minute")
def test_without_a_merchant_rate_the_platform_default_applies(merchant, merchant_client):
    assert merchant.rate_limit == ""

    statuses = _statuses(merchant_client, 2)
    refused = merchant_client.get("/api/v1/api_keys")

    assert statuses == [200, 200]
    body = assert_problem(refused, status=429, code="rate_limited")
    assert refused["Retry-After"] == "30"
    assert body["retry_after"] == 30


@override_settings(FINCORE_API_RATE_LIMIT="2/minute")
def test_the_merchants_rate_overrides_the_default(merchant, merchant_client):
    _set_rate(merchant, "5/minute")

    assert _statuses(merchant_client, 6) == [200, 200, 200, 200, 200, 429]


def test_a_throttled_post_changes_nothing(merchant, merchant_client):
    _set_rate(merchant, "1/minute")
    target = api_key_of(api_key_issue(merchant, name="old"))
    merchant_client.get("/api/v1/merchant")
    revocations = AuditEvent.objects.filter(action="api_key.revoked").count()

    response = merchant_client.post(
        f"/api/v1/api_keys/{ids.encode('key', target.pk)}/revoke",
        {"reason": "leaked"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="throttled",
    )

    assert_problem(response, status=429, code="rate_limited")
    target.refresh_from_db()
    assert target.revoked_at is None
    assert not IdempotencyRecord.objects.exists()
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == revocations


def test_requests_without_a_key_are_not_counted(api_client):
    # The public catalogue is not throttled, and 401s spend no one's budget.
    with override_settings(FINCORE_API_RATE_LIMIT="1/minute"):
        assert _statuses(api_client, 3, "/api/v1/problems") == [200, 200, 200]
        assert _statuses(api_client, 3) == [401, 401, 401]


def test_when_redis_is_down_requests_are_served(merchant, merchant_client, caplog):
    _set_rate(merchant, "1/minute")
    # The cache (and so the limiter) now points at a port where nothing listens.
    unreachable = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
    started = time.monotonic()
    with override_settings(CACHES=unreachable), caplog.at_level(logging.WARNING, "apps.core.api.throttling"):
        statuses = _statuses(merchant_client, 3)

    assert statuses == [200, 200, 200]
    assert time.monotonic() - started < 2
    assert [record.getMessage() for record in caplog.records if record.name == "apps.core.api.throttling"] == [
        "rate limiter unavailable; request allowed"
    ] * 3
