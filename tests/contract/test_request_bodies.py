"""Request bodies as a client frames them on the wire: with ``Content-Length`` or chunked.

A POST whose body fincore did not read must never act as ``{}``: capture without an amount
captures everything, post without an amount posts the whole hold.
"""

import json
import uuid
from typing import Any

import pytest

from apps.core import ids
from apps.core.api.limits import MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES, MAX_METADATA_BYTES
from apps.ledger.api.serializers import MAX_BATCH, MAX_TIMEOUT_SECONDS, TransferCreateSerializer
from apps.ledger.data import Kind, Result
from apps.ledger.models import Account, Transfer
from apps.merchants.models import Merchant
from apps.payments import services as payment_services
from apps.payments.models import Payment
from apps.routing.models import Connector
from tests.contract.live_server import LiveServer
from tests.factories import ledger as ledger_factories
from tests.factories.merchants import FACTORY_ACTOR, merchant_with_key
from tests.factories.routing import sandbox_seeded

pytestmark = pytest.mark.django_db(transaction=True)


def _headers(secret: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/json", **extra}


def _hold(merchant: Merchant, amount: int) -> Transfer:
    wallet = ledger_factories.wallet(merchant_id=merchant.pk, livemode=False)
    ledger_factories.fund(wallet, 10_000)
    funding = ledger_factories.funding(merchant_id=merchant.pk, livemode=False)
    outcome = ledger_factories.post_one(wallet, funding, amount, kind=Kind.PENDING, livemode=False,
                                        merchant_id=merchant.pk)
    assert outcome.result == Result.OK, outcome
    return Transfer.objects.get(pk=outcome.transfer_id)


def _authorized(merchant: Merchant, amount: int) -> Payment:
    """A card payment authorized by the sandbox acquirer, waiting for a manual capture."""
    sandbox_seeded()
    Connector.objects.update(latency_ms=0)
    payment = payment_services.payment_create(
        merchant_id=merchant.pk, livemode=False, amount=amount, currency="BHD", country="BH",
        payment_method={"type": "card", "token": "tok_success"}, capture_method="manual", actor=FACTORY_ACTOR,
    )
    payment_services.payment_process(payment_id=payment.pk)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REQUIRES_CAPTURE
    return payment


def _posted_amount(hold: Transfer) -> int | None:
    resolution = Transfer.objects.filter(pending_id=hold.pk).first()
    return None if resolution is None else resolution.amount


def _read_or_refused(answer: Any) -> bool:
    """The body was read (2xx), or the request refused as a problem (411) — never a third way."""
    return answer.status < 300 or (answer.status == 411 and answer.json()["code"] == "length_required")


def test_a_chunked_body_is_read_by_post_pending(gunicorn: LiveServer) -> None:
    merchant, secret = merchant_with_key()
    hold = _hold(merchant, 5_000)

    answer = gunicorn.request(
        "POST", f"/api/v1/transfers/{ids.encode('tr', hold.pk)}/post", body=json.dumps({"amount": 1_000}).encode(),
        headers=_headers(secret, **{"Transfer-Encoding": "chunked"}),
    )

    assert answer.status == 201, answer.body
    assert answer.json()["amount"] == 1_000
    assert _posted_amount(hold) == 1_000


def test_a_chunked_body_is_read_by_capture(gunicorn: LiveServer) -> None:
    merchant, secret = merchant_with_key()
    payment = _authorized(merchant, 5_000)

    answer = gunicorn.request(
        "POST", f"/api/v1/payments/{ids.encode('pay', payment.pk)}/capture",
        body=json.dumps({"amount": 1_000}).encode(), headers=_headers(secret, **{"Transfer-Encoding": "chunked"}),
    )

    assert answer.status == 200, answer.body
    payment.refresh_from_db()
    assert (answer.json()["amount_captured"], payment.amount_captured) == (1_000, 1_000)


def test_a_chunked_body_in_many_chunks_is_read_whole(gunicorn: LiveServer) -> None:
    merchant, secret = merchant_with_key()
    hold = _hold(merchant, 5_000)
    body = json.dumps({"amount": 1_250}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (1, body[i:i + 1]) for i in range(len(body))) + b"0\r\n\r\n"

    answer = gunicorn.raw(
        f"POST /api/v1/transfers/{ids.encode('tr', hold.pk)}/post HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {secret}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n".encode() + chunks
    )

    assert answer.status == 201, answer.body
    assert _posted_amount(hold) == 1_250


def test_a_content_length_body_is_read_as_before(gunicorn: LiveServer) -> None:
    merchant, secret = merchant_with_key()
    hold = _hold(merchant, 5_000)

    answer = gunicorn.request(
        "POST", f"/api/v1/transfers/{ids.encode('tr', hold.pk)}/post", body=json.dumps({"amount": 700}).encode(),
        headers=_headers(secret),
    )

    assert answer.status == 201, answer.body
    assert _posted_amount(hold) == 700
    assert _read_or_refused(answer)


def test_a_chunked_body_is_refused_where_the_server_does_not_decode_it(runserver: LiveServer) -> None:
    """``runserver`` does not decode chunked bodies: the request is refused, and nothing moves."""
    merchant, secret = merchant_with_key()
    hold = _hold(merchant, 5_000)

    answer = runserver.request(
        "POST", f"/api/v1/transfers/{ids.encode('tr', hold.pk)}/post", body=json.dumps({"amount": 1_000}).encode(),
        headers=_headers(secret, **{"Transfer-Encoding": "chunked"}),
    )

    assert answer.status == 411, answer.body
    assert answer.content_type == "application/problem+json"
    assert answer.json()["code"] == "length_required"
    assert _posted_amount(hold) is None


def test_a_content_length_body_is_read_by_runserver(runserver: LiveServer) -> None:
    merchant, secret = merchant_with_key()
    hold = _hold(merchant, 5_000)

    answer = runserver.request(
        "POST", f"/api/v1/transfers/{ids.encode('tr', hold.pk)}/post", body=json.dumps({"amount": 900}).encode(),
        headers=_headers(secret),
    )

    assert answer.status == 201, answer.body
    assert _posted_amount(hold) == 900


# --- how large a body may be ------------------------------------------------------------------


def _problem(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status == status, answer.body
    assert answer.content_type == "application/problem+json"
    body = answer.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


def _padded_account(size: int) -> bytes:
    """An account request of ``size`` bytes: valid JSON, whitespace making up the rest."""
    body = json.dumps({"currency": "BHD", "reference": "padded"}).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_413_and_opens_nothing(gunicorn: LiveServer, chunked: bool) -> None:
    merchant, secret = merchant_with_key()
    framing = {"Transfer-Encoding": "chunked"} if chunked else {}

    answer = gunicorn.request("POST", "/api/v1/accounts", body=_padded_account(MAX_BODY_BYTES + 1),
                              headers=_headers(secret, **framing))

    body = _problem(answer, 413, "request_too_large")
    assert body["max_bytes"] == MAX_BODY_BYTES
    assert not Account.objects.filter(merchant_id=merchant.pk, owner_type=Account.OwnerType.CUSTOMER).exists()


def test_a_body_at_the_limit_is_read(gunicorn: LiveServer) -> None:
    merchant, secret = merchant_with_key()

    answer = gunicorn.request("POST", "/api/v1/accounts", body=_padded_account(MAX_BODY_BYTES),
                              headers=_headers(secret))

    assert answer.status == 201, answer.body
    assert Account.objects.filter(merchant_id=merchant.pk, reference="padded").count() == 1


def test_a_payment_larger_than_djangos_own_limit_is_413_not_500(gunicorn: LiveServer) -> None:
    merchant, secret = merchant_with_key()
    body = json.dumps({"amount": 100, "currency": "BHD", "country": "BH",
                       "payment_method": {"type": "card", "token": "tok_success"},
                       "metadata": {"note": "x" * 3_000_000}}).encode()

    answer = gunicorn.request("POST", "/api/v1/payments", body=body, headers=_headers(secret))

    _problem(answer, 413, "request_too_large")
    assert not Payment.objects.filter(merchant_id=merchant.pk).exists()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_batch_over_its_limit_is_413(gunicorn: LiveServer, chunked: bool) -> None:
    _, secret = merchant_with_key()
    framing = {"Transfer-Encoding": "chunked"} if chunked else {}
    body = b'{"transfers": [' + b" " * MAX_BATCH_BODY_BYTES + b"]}"

    answer = gunicorn.request("POST", "/api/v1/transfers/batch", body=body, headers=_headers(secret, **framing))

    assert _problem(answer, 413, "request_too_large")["max_bytes"] == MAX_BATCH_BODY_BYTES


def test_a_batch_larger_than_the_default_limit_is_posted(gunicorn: LiveServer) -> None:
    """Twenty transfers with metadata at its largest, as Python's json writes them (non-ASCII
    escaped): 480 KB, far over the 64 KiB of other endpoints, well within the batch's limit."""
    merchant, secret = merchant_with_key()
    funding = ledger_factories.funding(merchant_id=merchant.pk, livemode=False)
    wallet = ledger_factories.wallet(merchant_id=merchant.pk, livemode=False)
    transfers = [_largest_transfer(funding.pk, wallet.pk, client_id=f"big-{n}") for n in range(20)]
    body = json.dumps({"transfers": transfers}).encode()
    assert len(body) > 20 * 3 * MAX_METADATA_BYTES

    answer = gunicorn.request("POST", "/api/v1/transfers/batch", body=body, headers=_headers(secret))

    assert answer.status == 200, answer.body[:500]
    assert [result["result"] for result in answer.json()["results"]] == ["ok"] * 20


def _largest_transfer(debit: Any, credit: Any, *, client_id: str | None = None) -> dict[str, Any]:
    """A transfer the API accepts, at its largest on the wire: metadata exactly at its limit in
    two-byte characters (3 bytes each once escaped), reference and client id 255 emoji each (12)."""
    metadata = {"note": ""}
    metadata["note"] = "é" * ((MAX_METADATA_BYTES - len(json.dumps(metadata, separators=(",", ":")))) // 2)
    return {
        "debit_account": ids.encode("acc", debit), "credit_account": ids.encode("acc", credit),
        "amount": 999_999, "currency": "BHD", "pending": True, "timeout": MAX_TIMEOUT_SECONDS,
        "client_id": client_id or "\U0001f4b8" * 255, "reference": "\U0001f4b8" * 255, "metadata": metadata,
    }


def test_the_batch_limit_fits_a_full_batch_of_the_largest_transfers() -> None:
    largest = _largest_transfer(uuid.uuid4(), uuid.uuid4())
    serializer = TransferCreateSerializer(data=largest)
    assert serializer.is_valid(), serializer.errors
    assert len(json.dumps(largest["metadata"], ensure_ascii=False, separators=(",", ":")).encode()) >= (
        MAX_METADATA_BYTES - 1
    )

    full_batch = json.dumps({"atomic": False, "transfers": [largest] * MAX_BATCH}).encode()

    assert len(full_batch) <= MAX_BATCH_BODY_BYTES
