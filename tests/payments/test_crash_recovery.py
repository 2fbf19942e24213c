"""A payment request killed between its commit and its answer: the merchant's retry, under the
same Idempotency-Key, gets that payment back at once — never a second one, never two minutes of
409s. Over a socket, against gunicorn as deployed."""

import http.client
import json
import time
from collections.abc import Iterator

import pytest

from apps.core import ids
from apps.core.models import IdempotencyRecord
from apps.payments.models import Payment
from tests.contract.live_server import Answer, LiveServer
from tests.factories.merchants import merchant_with_key
from tests.factories.routing import sandbox_seeded

pytestmark = pytest.mark.django_db(transaction=True)

BODY = json.dumps({"amount": 27664, "currency": "BHD", "country": "BH",
                   "payment_method": {"type": "card", "token": "tok_success"}}).encode()


@pytest.fixture
def dying_server() -> Iterator[LiveServer]:
    server = LiveServer(workers=1, application="tests.support.dying_wsgi").start()
    try:
        yield server
    finally:
        server.stop()


def _post(server: LiveServer, secret: str, *, key: str, dies: bool = False) -> Answer:
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json", "Idempotency-Key": key}
    if dies:
        headers["X-Test-Die-After-Commit"] = "1"
    return server.request("POST", "/api/v1/payments", body=BODY, headers=headers)


def test_a_request_killed_after_its_commit_is_answered_with_its_payment_on_retry(dying_server):
    sandbox_seeded()
    _, secret = merchant_with_key()

    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        _post(dying_server, secret, key="order-77", dies=True)
    [made] = Payment.objects.filter(request_idempotency_key="order-77")
    assert IdempotencyRecord.objects.get(key="order-77").response_status is None  # the answer was lost

    started = time.monotonic()
    retry = None
    while time.monotonic() - started < 30:  # gunicorn brings up a new worker meanwhile
        try:
            retry = _post(dying_server, secret, key="order-77")
        except ConnectionError:
            time.sleep(0.2)
            continue
        break

    assert retry is not None and retry.status == 202, retry
    assert retry.json()["id"] == ids.encode("pay", made.pk)
    assert time.monotonic() - started < 30  # not the two minutes of the old lease
    assert Payment.objects.filter(request_idempotency_key="order-77").count() == 1
    replay = _post(dying_server, secret, key="order-77")
    assert (replay.status, replay.headers.get("idempotent-replayed"), replay.json()["id"]) == (
        202, "true", ids.encode("pay", made.pk))
    assert Payment.objects.count() == 1
