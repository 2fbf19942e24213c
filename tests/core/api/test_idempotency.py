"""Idempotency-Key on POST: a retry replays the first answer; it never acts twice."""

import json
import threading
import time
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection

from apps.audit.models import AuditEvent
from apps.core import idempotency, ids
from apps.core.models import IdempotencyRecord
from apps.merchants import services
from apps.merchants.models import ApiKey, Merchant
from tests.core.api.assertions import assert_problem
from tests.core.api.urls_for_tests import gate
from tests.factories.merchants import FACTORY_ACTOR, api_key_issue, api_key_of, authenticated_client, merchant_with_key
from tests.support.time_travel import a_day_ahead

pytestmark = pytest.mark.django_db

TEST_URLS = pytest.mark.urls("tests.core.api.urls_for_tests")
T0 = a_day_ahead()  # later than the rows fixtures write at the present


@pytest.fixture
def target(merchant: Merchant) -> ApiKey:
    """Another key of the calling merchant, the one the tests revoke."""
    return api_key_of(api_key_issue(merchant, name="old checkout server"))


def _revoke_url(api_key: ApiKey) -> str:
    return f"/api/v1/api_keys/{ids.encode('key', api_key.pk)}/revoke"


def _revoke(client, api_key: ApiKey, *, key: str | None, reason: str = "leaked in a log"):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(_revoke_url(api_key), {"reason": reason}, format="json", **headers)


def _revocations() -> int:
    return AuditEvent.objects.filter(action="api_key.revoked").count()


# --- replay ----------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_replays_the_first_response(merchant, merchant_client, target):
    first = _revoke(merchant_client, target, key="revoke-1")
    target.refresh_from_db()
    revoked_at = target.revoked_at

    retry = _revoke(merchant_client, target, key="revoke-1")

    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first
    assert first.json()["revoked"] is True
    assert retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true"
    assert retry["Content-Type"] == "application/json"
    assert retry.json() == first.json()
    # The service ran once: without the key the second revocation would be a 409.
    target.refresh_from_db()
    assert target.revoked_at == revoked_at
    assert _revocations() == 1
    record = IdempotencyRecord.objects.get()
    # A test key's keys: the merchant's, in test mode.
    assert (record.scope, record.key, record.method, record.path) == (
        f"{merchant.pk}:test", "revoke-1", "POST", _revoke_url(target)
    )
    assert record.response_status == 200
    assert record.response_body == first.json()


def test_without_a_key_a_retry_acts_again(merchant_client, target):
    assert _revoke(merchant_client, target, key=None).status_code == 200

    retry = _revoke(merchant_client, target, key=None)

    assert_problem(retry, status=409, code="api_key_already_revoked")
    assert _revocations() == 1
    assert not IdempotencyRecord.objects.exists()


def test_json_key_order_and_spacing_do_not_make_another_request(merchant_client, target):
    path = _revoke_url(target)
    first = merchant_client.post(
        path, '{"reason":"leaked"}', content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )

    retry = merchant_client.post(
        path, '{ "reason" :  "leaked" }', content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert first.status_code == 200
    assert retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true"
    assert _revocations() == 1


def test_a_refusal_is_replayed_as_the_same_problem(merchant_client, target):
    services.api_key_revoke(api_key_id=target.pk, actor=FACTORY_ACTOR, reason="rotated")
    first = _revoke(merchant_client, target, key="late")

    retry = _revoke(merchant_client, target, key="late")

    assert_problem(first, status=409, code="api_key_already_revoked")
    assert retry.status_code == 409
    assert retry["Idempotent-Replayed"] == "true"
    assert retry["Content-Type"] == "application/problem+json"
    assert retry.json() == first.json()


def test_get_ignores_the_key(merchant_client):
    response = merchant_client.get("/api/v1/merchant", HTTP_IDEMPOTENCY_KEY="get-1")

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/merchant", "/api/v1/api_keys", "/api/v1/problems"])
def test_a_post_where_post_is_not_allowed_does_not_spend_the_key(merchant_client, path):
    response = merchant_client.post(path, {"reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k-405")

    assert_problem(response, status=405, code="method_not_allowed")
    assert not IdempotencyRecord.objects.exists()


# --- refused keys ------------------------------------------------------------------------


def test_the_same_key_with_another_body_is_refused(merchant_client, target):
    first = _revoke(merchant_client, target, key="revoke-2", reason="leaked")
    record_before = IdempotencyRecord.objects.values().get()

    response = _revoke(merchant_client, target, key="revoke-2", reason="rotated")

    assert first.status_code == 200
    assert_problem(
        response,
        status=422,
        code="idempotency_key_reused",
        detail=(
            "This Idempotency-Key was first used with another request "
            f"(POST {_revoke_url(target)} with a different body); use a new key."
        ),
    )
    assert IdempotencyRecord.objects.values().get() == record_before
    target.refresh_from_db()
    assert target.revoke_reason == "leaked"
    assert _revocations() == 1


def test_the_same_key_on_another_path_is_refused(merchant, merchant_client, target):
    other = api_key_of(api_key_issue(merchant, name="back office"))
    assert _revoke(merchant_client, target, key="revoke-3").status_code == 200

    response = _revoke(merchant_client, other, key="revoke-3")

    assert_problem(response, status=422, code="idempotency_key_reused")
    other.refresh_from_db()
    assert other.revoked_at is None
    assert _revocations() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.parametrize(
    "key",
    [
        "k" * 256,
        "",
        "tab\tinside",
        "caf\u00e9",  # not ASCII
    ],
)
def test_an_invalid_key_is_400_and_nothing_happens(merchant_client, target, key):
    response = _revoke(merchant_client, target, key=key)

    assert_problem(
        response,
        status=400,
        code="idempotency_key_invalid",
        detail="The Idempotency-Key must be 1 to 255 printable ASCII characters.",
    )
    target.refresh_from_db()
    assert target.revoked_at is None
    assert not IdempotencyRecord.objects.exists()
    assert _revocations() == 0


def test_a_key_of_255_characters_is_accepted(merchant_client, target):
    key = "k" * 255

    response = _revoke(merchant_client, target, key=key)

    assert response.status_code == 200
    assert IdempotencyRecord.objects.get().key == key


def test_keys_are_scoped_to_the_merchant(merchant, merchant_client, target):
    other_merchant, other_secret = merchant_with_key()
    other_target = api_key_of(api_key_issue(other_merchant, name="old"))
    assert _revoke(merchant_client, target, key="shared-key").status_code == 200

    response = _revoke(authenticated_client(other_secret), other_target, key="shared-key")

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert response.json()["id"] == ids.encode("key", other_target.pk)
    other_target.refresh_from_db()
    assert other_target.revoked_at is not None
    assert sorted(IdempotencyRecord.objects.values_list("scope", "key")) == sorted(
        [(f"{merchant.pk}:test", "shared-key"), (f"{other_merchant.pk}:test", "shared-key")]
    )


def test_keys_are_scoped_to_the_keys_mode(merchant, merchant_client, target):
    # The same merchant's live key reusing a test key's Idempotency-Key, on another request: in
    # one scope that would be idempotency_key_reused; in its own mode's scope it simply runs.
    live_client = authenticated_client(api_key_issue(merchant, mode=ApiKey.Mode.LIVE, name="live server"))
    live_target = api_key_of(api_key_issue(merchant, mode=ApiKey.Mode.LIVE, name="old live server"))
    assert _revoke(merchant_client, target, key="shared-key").status_code == 200

    response = _revoke(live_client, live_target, key="shared-key")

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert response.json()["id"] == ids.encode("key", live_target.pk)
    live_target.refresh_from_db()
    assert live_target.revoked_at is not None
    assert _revocations() == 2
    assert sorted(IdempotencyRecord.objects.values_list("scope", "key", "path")) == sorted([
        (f"{merchant.pk}:test", "shared-key", _revoke_url(target)),
        (f"{merchant.pk}:live", "shared-key", _revoke_url(live_target)),
    ])


# --- failures release the key ------------------------------------------------------------


def test_a_server_error_releases_the_key_so_a_retry_runs(monkeypatch, merchant_client, target):
    real_revoke = services.api_key_revoke

    def database_went_away(**kwargs):
        raise RuntimeError("connection reset")

    monkeypatch.setattr(services, "api_key_revoke", database_went_away)
    failed = _revoke(merchant_client, target, key="retry-me")
    assert_problem(failed, status=500, code="internal_error")
    assert not IdempotencyRecord.objects.exists()
    target.refresh_from_db()
    assert target.revoked_at is None
    assert _revocations() == 0

    monkeypatch.setattr(services, "api_key_revoke", real_revoke)
    retry = _revoke(merchant_client, target, key="retry-me")

    assert retry.status_code == 200
    assert "Idempotent-Replayed" not in retry
    target.refresh_from_db()
    assert target.revoked_at is not None
    assert IdempotencyRecord.objects.get().response_status == 200


@TEST_URLS
def test_a_crash_in_a_view_releases_the_key(merchant_client):
    response = merchant_client.post("/api/v1/tests/crashing", {"n": 1}, format="json", HTTP_IDEMPOTENCY_KEY="c")

    assert_problem(response, status=500, code="internal_error")
    assert not IdempotencyRecord.objects.exists()


# --- retention -----------------------------------------------------------------------------


def test_a_key_is_remembered_for_24_hours_then_free(merchant, merchant_client, target):
    other = api_key_of(api_key_issue(merchant, name="back office"))
    with time_machine.travel(T0, tick=False):
        assert _revoke(merchant_client, target, key="daily").status_code == 200

    with time_machine.travel(T0 + timedelta(hours=24) - timedelta(seconds=1), tick=False):
        still_remembered = _revoke(merchant_client, other, key="daily")
    with time_machine.travel(T0 + timedelta(hours=24, seconds=1), tick=False):
        reused = _revoke(merchant_client, other, key="daily")

    assert_problem(still_remembered, status=422, code="idempotency_key_reused")
    assert reused.status_code == 200
    assert "Idempotent-Replayed" not in reused
    other.refresh_from_db()
    assert other.revoked_at == T0 + timedelta(hours=24, seconds=1)
    record = IdempotencyRecord.objects.get()
    assert (record.path, record.created_at) == (_revoke_url(other), T0 + timedelta(hours=24, seconds=1))


def _record_at(instant: datetime, key: str, *, completed: bool = True) -> IdempotencyRecord:
    with time_machine.travel(instant, tick=False):
        record = idempotency.idempotency_claim(
            scope="merchant-x", key=key, method="POST", path="/api/v1/things", request_fingerprint="f" * 64
        )
        if completed:
            idempotency.idempotency_complete(record=record, status=201, body={"id": key}, headers={})
    return record


def test_purge_removes_only_expired_records():
    _record_at(T0 - timedelta(hours=25), "old")
    _record_at(T0 - timedelta(hours=24, microseconds=1), "just-expired", completed=False)
    _record_at(T0 - timedelta(hours=24), "exactly-24h")
    _record_at(T0 - timedelta(hours=1), "recent")

    with time_machine.travel(T0, tick=False):
        purged = idempotency.idempotency_purge_expired()

    assert purged == 2
    assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == ["exactly-24h", "recent"]


def _request_answers(client, target, *, key: str, timeout: float = 10):
    """Send the revocation until it is no longer told to wait (at most ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        response = _revoke(client, target, key=key)
        if response.status_code != 409 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_key_is_in_use_while_its_request_lives_and_free_as_soon_as_it_dies(merchant, secret, target):
    path = _revoke_url(target)
    claimed, dies = threading.Event(), threading.Event()

    def first_request() -> None:
        # Claims the key on its own database connection, then its process dies before answering.
        try:
            idempotency.idempotency_claim(
                scope=f"{merchant.pk}:test", key="crashed", method="POST", path=path,
                request_fingerprint=idempotency.fingerprint(method="POST", path=path,
                                                            body={"reason": "leaked in a log"}),
            )
            claimed.set()
            dies.wait(timeout=10)
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    client = authenticated_client(secret)
    try:
        assert claimed.wait(timeout=10)
        while_alive = _revoke(client, target, key="crashed")
    finally:
        dies.set()
        thread.join(timeout=10)
    started = time.monotonic()
    after_death = _request_answers(client, target, key="crashed")

    assert_problem(while_alive, status=409, code="idempotency_key_in_use")
    assert while_alive["Retry-After"] == "1"
    # Taken over at once, not after a lease: the dead request's lock went with its connection.
    assert after_death.status_code == 200
    assert time.monotonic() - started < 10
    target.refresh_from_db()
    assert target.revoked_at is not None
    assert IdempotencyRecord.objects.get().response_status == 200
    assert _revocations() == 1


def test_a_stale_claim_with_another_body_is_still_refused(merchant, merchant_client, target):
    path = _revoke_url(target)
    with time_machine.travel(T0, tick=False):
        idempotency.idempotency_claim(
            scope=f"{merchant.pk}:test", key="crashed", method="POST", path=path,
            request_fingerprint=idempotency.fingerprint(method="POST", path=path, body={"reason": "other"}),
        )

    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        response = _revoke(merchant_client, target, key="crashed")

    assert_problem(response, status=422, code="idempotency_key_reused")
    target.refresh_from_db()
    assert target.revoked_at is None


# --- concurrency -------------------------------------------------------------------------


def _wait_for(condition, *, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


@TEST_URLS
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_run_once_and_the_other_is_told_to_wait(secret):
    gate.reset()
    start = threading.Barrier(2)
    responses = []

    def send() -> None:
        client = authenticated_client(secret)
        try:
            start.wait(timeout=5)
            responses.append(
                client.post("/api/v1/tests/blocking", {"order": 7}, format="json", HTTP_IDEMPOTENCY_KEY="race")
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        # One request is held inside the handler; the other must have been answered meanwhile.
        _wait_for(lambda: gate.entered.is_set() and len(responses) == 1)
        assert_problem(
            responses[0],
            status=409,
            code="idempotency_key_in_use",
            detail="The first request with this Idempotency-Key has not finished; retry shortly.",
        )
    finally:
        gate.opened.set()
        for thread in threads:
            thread.join(timeout=10)

    assert sorted(response.status_code for response in responses) == [201, 409]
    assert gate.calls == [{"order": 7}]
    replay = authenticated_client(secret).post(
        "/api/v1/tests/blocking", {"order": 7}, format="json", HTTP_IDEMPOTENCY_KEY="race"
    )
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == {"ran": 1}
    assert len(gate.calls) == 1


def test_the_fingerprint_ignores_key_order_but_not_values():
    one = idempotency.fingerprint(method="POST", path="/p", body=json.loads('{"a": 1, "b": [1, 2]}'))

    assert one == idempotency.fingerprint(method="POST", path="/p", body={"b": [1, 2], "a": 1})
    assert one != idempotency.fingerprint(method="POST", path="/p", body={"b": [2, 1], "a": 1})
    assert one != idempotency.fingerprint(method="POST", path="/q", body={"b": [1, 2], "a": 1})
