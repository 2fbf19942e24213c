"""``Authorization: Bearer <secret>``: who may call the API, and what a refusal looks like."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from apps.audit.models import AuditEvent
from apps.core import ids
from apps.core.actors import ActorType
from apps.merchants import selectors, services
from apps.merchants.authentication import ApiKeyAuthentication
from apps.merchants.models import ApiKey, Merchant
from tests.core.api.assertions import assert_problem
from tests.factories.merchants import FACTORY_ACTOR, api_key_of, authenticated_client, merchant_with_key
from tests.support.time_travel import a_day_ahead

pytestmark = pytest.mark.django_db

T0 = a_day_ahead()  # later than the rows fixtures write at the present


def _client_with_header(value: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=value)
    return client


def _nothing_written(audit_events_before: int) -> None:
    assert AuditEvent.objects.count() == audit_events_before
    assert not ApiKey.objects.filter(last_used_at__isnull=False).exists()


def test_no_header_is_401_not_authenticated(api_client, secret):
    events = AuditEvent.objects.count()

    response = api_client.get("/api/v1/merchant")

    assert_problem(
        response, status=401, code="not_authenticated", detail="Authentication credentials were not provided."
    )
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    _nothing_written(events)


@pytest.mark.parametrize(
    "header",
    [
        "Token {secret}",
        "Basic dXNlcjpwYXNzd29yZA==",
        "Bearer",
        "Bearer ",
        "Bearer {secret} {secret}",
        "{secret}",
    ],
)
def test_a_malformed_header_is_401_invalid_api_key(secret, header):
    events = AuditEvent.objects.count()

    response = _client_with_header(header.format(secret=secret)).get("/api/v1/merchant")

    assert_problem(
        response,
        status=401,
        code="invalid_api_key",
        detail="Send the secret key as 'Authorization: Bearer fc_live_...'.",
    )
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    _nothing_written(events)


@pytest.mark.parametrize("scheme", ["bearer", "BEARER"])
def test_the_scheme_is_case_insensitive(secret, scheme):
    response = _client_with_header(f"{scheme} {secret}").get("/api/v1/merchant")

    assert response.status_code == 200


@pytest.mark.parametrize("wrong", ["fc_test_unknown", "{secret}x", "{secret_upper}"])
def test_an_unknown_key_is_401_invalid_api_key(secret, wrong):
    events = AuditEvent.objects.count()
    wrong = wrong.format(secret=secret, secret_upper=secret.upper())

    response = authenticated_client(wrong).get("/api/v1/merchant")

    assert_problem(response, status=401, code="invalid_api_key", detail="No such API key.")
    _nothing_written(events)


def test_a_revoked_key_is_401_api_key_revoked(secret):
    services.api_key_revoke(api_key_id=api_key_of(secret).pk, actor=FACTORY_ACTOR, reason="leaked")
    events = AuditEvent.objects.count()

    response = authenticated_client(secret).get("/api/v1/merchant")

    assert_problem(response, status=401, code="api_key_revoked", detail="This API key has been revoked.")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    _nothing_written(events)


def test_a_suspended_merchant_is_403_until_activated(merchant, merchant_client):
    services.merchant_suspend(merchant_id=merchant.pk, actor=FACTORY_ACTOR, reason="KYC review")
    events = AuditEvent.objects.count()

    refused = merchant_client.get("/api/v1/api_keys")

    assert_problem(
        refused, status=403, code="merchant_suspended", detail="This merchant is suspended; contact support."
    )
    _nothing_written(events)
    services.merchant_activate(merchant_id=merchant.pk, actor=FACTORY_ACTOR, reason="KYC passed")
    assert merchant_client.get("/api/v1/api_keys").status_code == 200


def test_a_valid_test_key_gets_its_merchant(merchant, merchant_client):
    merchant_with_key()  # somebody else, who must not be returned

    response = merchant_client.get("/api/v1/merchant")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "id": ids.encode("mer", merchant.pk),
        "legal_name": merchant.legal_name,
        "country": "BH",
        "status": "active",
        "currencies": ["BHD"],
        "livemode": False,
        "created": timezone.localtime(merchant.created_at).isoformat(),
    }
    assert response.json()["id"].startswith("mer_")
    assert response.json()["created"].endswith("+03:00")  # Asia/Bahrain


def test_a_live_key_is_livemode(db):
    merchant, live_secret = merchant_with_key(mode="live", currencies=["BHD", "USD"], country="AE")

    response = authenticated_client(live_secret).get("/api/v1/merchant")

    assert live_secret.startswith("fc_live_")
    assert response.json()["livemode"] is True
    assert response.json()["id"] == ids.encode("mer", merchant.pk)
    assert response.json()["currencies"] == ["BHD", "USD"]
    assert response.json()["country"] == "AE"


@pytest.mark.parametrize(("mode", "livemode"), [("test", False), ("live", True)])
def test_the_keys_actor_names_its_merchant_and_its_mode(mode, livemode):
    # request.auth decides whose data, and which mode's, a request sees and creates.
    merchant, secret = merchant_with_key(mode=mode)
    request = Request(APIRequestFactory().get("/api/v1/merchant", HTTP_AUTHORIZATION=f"Bearer {secret}"))

    user, actor = ApiKeyAuthentication().authenticate(request)

    api_key = api_key_of(secret)
    assert user == merchant
    assert (actor.type, actor.id, actor.label, actor.merchant_id, actor.livemode) == (
        ActorType.API_KEY, ids.encode("key", api_key.pk), f"{api_key.hint}… (checkout server)", str(merchant.pk),
        livemode,
    )


def test_last_used_is_written_at_most_once_a_minute(merchant_client, secret):
    api_key = api_key_of(secret)
    assert api_key.last_used_at is None

    with time_machine.travel(T0, tick=False):
        merchant_client.get("/api/v1/merchant")
    api_key.refresh_from_db()
    assert api_key.last_used_at == T0

    with time_machine.travel(T0 + timedelta(seconds=59), tick=False):
        merchant_client.get("/api/v1/merchant")
    api_key.refresh_from_db()
    assert api_key.last_used_at == T0

    with time_machine.travel(T0 + timedelta(seconds=61), tick=False):
        merchant_client.get("/api/v1/merchant")
    api_key.refresh_from_db()
    assert api_key.last_used_at == T0 + timedelta(seconds=61)


def test_last_used_costs_no_write_within_the_minute(merchant_client, django_assert_num_queries):
    with time_machine.travel(T0, tick=False):
        merchant_client.get("/api/v1/merchant")

    with time_machine.travel(T0 + timedelta(seconds=30), tick=False), django_assert_num_queries(1):
        assert merchant_client.get("/api/v1/merchant").status_code == 200


def test_the_api_shows_last_used(merchant_client, secret):
    with time_machine.travel(T0, tick=False):
        response = merchant_client.get(f"/api/v1/api_keys/{ids.encode('key', api_key_of(secret).pk)}")

    assert datetime.fromisoformat(response.json()["last_used"]) == T0


def test_the_key_is_read_with_its_merchant_exactly_as_the_orm_reads_them(secret):
    """The lookup every request makes is written in SQL; it reads what the ORM would, in one query."""
    revoked = api_key_of(secret)
    services.api_key_revoke(api_key_id=revoked.pk, actor=FACTORY_ACTOR, reason="rotated")
    expected = ApiKey.objects.select_related("merchant").get(secret_hash=services.hash_secret(secret))

    with CaptureQueriesContext(connection) as queries:
        found = selectors.api_key_by_secret_hash(services.hash_secret(secret))

    assert len(queries) == 1
    for model, read, orm in ((ApiKey, found, expected), (Merchant, found.merchant, expected.merchant)):
        assert {f.attname: getattr(read, f.attname) for f in model._meta.concrete_fields} == {
            f.attname: getattr(orm, f.attname) for f in model._meta.concrete_fields}
        assert not read._state.adding
    assert found.is_revoked and found.merchant.currencies == ["BHD"]
    assert selectors.api_key_by_secret_hash(services.hash_secret(secret + "x")) is None
