"""The merchant API of payments, refunds and the balance (connectors scripted)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import ids
from apps.payments import services
from apps.payments.models import Payment
from tests.factories import ledger as ledger_factories
from tests.factories.merchants import authenticated_client, merchant_with_key
from tests.payments.conftest import UNKNOWN, clearing, declined, outbox_tasks, posted

pytestmark = pytest.mark.django_db

PAYMENTS = "/api/v1/payments"
REFUNDS = "/api/v1/refunds"
CARD = {"type": "card", "token": "tok_success"}


def body(**fields):
    return {"amount": 12500, "currency": "BHD", "country": "BH", "payment_method": CARD, **fields}


def create(client, **fields):
    response = client.post(PAYMENTS, body(**fields), format="json")
    assert response.status_code == 202, response.content
    return response.json()


def process(payment: dict) -> dict:
    services.payment_process(payment_id=ids.decode("pay", payment["id"]))
    return payment


def test_a_payment_is_accepted_with_202_processing(merchant_client, routing):
    response = merchant_client.post(PAYMENTS, body(reference="order-1", metadata={"customer": "c-7"}), format="json")

    assert response.status_code == 202
    payment = response.json()
    assert response["Location"] == f"/api/v1/payments/{payment['id']}"
    assert payment["id"].startswith("pay_")
    assert {key: payment[key] for key in ("object", "status", "amount", "currency", "country", "method",
                                          "capture_method", "amount_captured", "amount_refunded", "reference",
                                          "metadata", "livemode", "attempts", "failure", "payment_method",
                                          "captured")} == {
        "object": "payment", "status": "processing", "amount": 12500, "currency": "BHD", "country": "BH",
        "method": "card", "capture_method": "automatic", "amount_captured": 0, "amount_refunded": 0,
        "reference": "order-1", "metadata": {"customer": "c-7"}, "livemode": False, "attempts": [], "failure": None,
        "payment_method": CARD, "captured": None,
    }
    assert [task for task, _, _ in outbox_tasks()] == ["payments.process"]


def test_a_processed_payment_shows_its_amounts_and_attempts_with_the_routing_reason(merchant_client, routing):
    routing["alpha"].answer("authorize", declined("processor_unavailable", retryable=True))
    payment = process(create(merchant_client))

    shown = merchant_client.get(f"{PAYMENTS}/{payment['id']}").json()

    assert (shown["status"], shown["amount_captured"], shown["amount_refundable"], shown["connector"]) == (
        "succeeded", 12500, 12500, "beta")
    assert shown["created"] <= shown["captured"] <= shown["updated"]  # one offset (+03:00): ordered as text
    assert [(a["connector"], a["status"], a["error_code"], a["retryable"]) for a in shown["attempts"]] == [
        ("alpha", "declined", "processor_unavailable", True), ("beta", "captured", "", False)]
    assert shown["attempts"][0]["routing"] == {
        "strategy": "priority", "rule": "test", "reason": "in the test's order", "candidates": ["alpha", "beta"],
        "scores": {"alpha": "0.9000", "beta": "0.9000"}, "excluded": {}, "explored": False,
    }
    assert shown["attempts"][1]["routing"]["excluded"] == {"alpha": "already tried"}


def test_a_failed_payment_says_why(merchant_client, routing):
    routing["alpha"].answer("authorize", declined("insufficient_funds"))
    payment = process(create(merchant_client))
    shown = merchant_client.get(f"{PAYMENTS}/{payment['id']}").json()
    assert (shown["status"], shown["failure"]["code"]) == ("failed", "insufficient_funds")


@pytest.mark.parametrize(("fields", "field"), [
    ({"amount": 12.5}, "amount"),
    ({"amount": "12500"}, "amount"),
    ({"amount": 0}, "amount"),
    ({"currency": "USD"}, "currency"),
    ({"currency": "XXY"}, "currency"),
    ({"country": "ZZ"}, "country"),
    ({"payment_method": {"type": "card"}}, "payment_method.token"),
    ({"payment_method": {"type": "card", "token": "tok_success", "cvc": "123"}}, "payment_method.cvc"),
    ({"payment_method": {"type": "instant", "iban": "BH00BMAG00001299123456"}}, "payment_method.iban"),
    # Right check digits, but one character too long for Bahrain: the instant rail would decline it.
    ({"payment_method": {"type": "instant", "iban": "BH76BMAG000012991234567"}}, "payment_method.iban"),
    ({"payment_method": {"type": "wire", "iban": "BH67BMAG00001299123456"}}, "payment_method.bic"),
    ({"payment_method": {"type": "cash"}}, "payment_method.type"),
    ({"capture_method": "later"}, "capture_method"),
    ({"metadata": {"nested": {"a": 1}}}, "metadata"),
    ({"metadata": {"rate": 1.5}}, "metadata"),
    ({"metadata": {"note": "a\x00b"}}, "metadata"),
    ({"metadata": {f"k{n}": n for n in range(51)}}, "metadata"),
])
def test_invalid_fields_are_a_400_naming_the_field(merchant_client, routing, fields, field):
    response = merchant_client.post(PAYMENTS, body(**fields), format="json")

    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert field in [error["field"] for error in problem["errors"]]
    assert not Payment.objects.exists()


def test_a_card_number_is_refused_with_its_own_code(merchant_client, routing):
    response = merchant_client.post(PAYMENTS, body(payment_method={"type": "card", "token": "4111111111111111"}),
                                    format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "card_number_refused"
    assert "4111" not in response.content.decode()
    assert not Payment.objects.exists()


def test_a_post_is_idempotent(merchant_client, routing):
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-1-attempt"}
    first = merchant_client.post(PAYMENTS, body(), format="json", **headers)
    again = merchant_client.post(PAYMENTS, body(), format="json", **headers)

    assert (first.status_code, again.status_code) == (202, 202)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Payment.objects.count() == 1


def test_another_merchants_payment_and_the_other_mode_are_not_found(merchant_client, routing, merchant):
    payment = create(merchant_client)
    other_merchant_client = authenticated_client(merchant_with_key()[1])
    live_client = authenticated_client(merchant_with_key(mode="live")[1])

    assert other_merchant_client.get(f"{PAYMENTS}/{payment['id']}").status_code == 404
    assert live_client.get(f"{PAYMENTS}/{payment['id']}").status_code == 404
    assert merchant_client.get(f"{PAYMENTS}/pay_nonsense").status_code == 404
    assert merchant_client.get(f"{PAYMENTS}/{payment['id'].replace('pay_', 're_')}").status_code == 404
    assert other_merchant_client.get(PAYMENTS).json()["results"] == []


def test_the_list_filters_and_pages_newest_first_with_few_queries(merchant_client, routing):
    routing["alpha"].answer("authorize", declined())
    failed = process(create(merchant_client, reference="a"))
    succeeded = [process(create(merchant_client, reference="b")) for _ in range(3)]

    listed = merchant_client.get(PAYMENTS, {"limit": 2}).json()
    assert [p["id"] for p in listed["results"]] == [succeeded[2]["id"], succeeded[1]["id"]]
    assert merchant_client.get(listed["next"]).json()["results"][-1]["id"] == failed["id"]
    assert [p["id"] for p in merchant_client.get(PAYMENTS, {"status": "failed"}).json()["results"]] == [failed["id"]]
    assert len(merchant_client.get(PAYMENTS, {"reference": "b"}).json()["results"]) == 3
    assert merchant_client.get(PAYMENTS, {"method": "wire"}).json()["results"] == []
    created = Payment.objects.get(pk=ids.decode("pay", failed["id"])).created_at
    assert [p["id"] for p in merchant_client.get(
        PAYMENTS, {"created[lte]": created.isoformat()}).json()["results"]] == [failed["id"]]
    assert merchant_client.get(PAYMENTS, {"status": "nope"}).status_code == 400

    with CaptureQueriesContext(connection) as queries:
        assert merchant_client.get(PAYMENTS).status_code == 200
    few = len(queries)
    [process(create(merchant_client)) for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        merchant_client.get(PAYMENTS)
    assert len(queries) == few


def test_manual_capture_partial_then_the_rest_is_released(merchant_client, routing):
    payment = process(create(merchant_client, capture_method="manual", amount=250000))
    shown = merchant_client.get(f"{PAYMENTS}/{payment['id']}").json()
    assert (shown["status"], shown["amount_capturable"], shown["captured"]) == ("requires_capture", 250000, None)

    too_much = merchant_client.post(f"{PAYMENTS}/{payment['id']}/capture", {"amount": 250001}, format="json")
    assert (too_much.status_code, too_much.json()["code"]) == (422, "capture_exceeds_authorized")

    captured = merchant_client.post(f"{PAYMENTS}/{payment['id']}/capture", {"amount": 200000}, format="json")
    assert captured.status_code == 200
    assert {k: captured.json()[k] for k in ("status", "amount_captured", "amount_capturable")} == {
        "status": "succeeded", "amount_captured": 200000, "amount_capturable": 0}
    assert captured.json()["captured"] is not None

    again = merchant_client.post(f"{PAYMENTS}/{payment['id']}/capture", {"amount": 100}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "payment_not_capturable")
    cancel = merchant_client.post(f"{PAYMENTS}/{payment['id']}/cancel", format="json")
    assert (cancel.status_code, cancel.json()["code"]) == (409, "payment_not_cancelable")


def test_a_capture_the_connector_does_not_answer_is_202(merchant_client, routing):
    payment = process(create(merchant_client, capture_method="manual"))
    routing["alpha"].answer("capture", UNKNOWN)
    response = merchant_client.post(f"{PAYMENTS}/{payment['id']}/capture", format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "requires_capture"


def test_a_declined_capture_is_a_422(merchant_client, routing):
    payment = process(create(merchant_client, capture_method="manual"))
    routing["alpha"].answer("capture", declined("authorization_expired"))
    response = merchant_client.post(f"{PAYMENTS}/{payment['id']}/capture", format="json")
    assert (response.status_code, response.json()["code"]) == (422, "capture_declined")
    assert response.json()["connector_code"] == "authorization_expired"


def test_cancel(merchant_client, routing):
    payment = process(create(merchant_client, capture_method="manual"))
    response = merchant_client.post(f"{PAYMENTS}/{payment['id']}/cancel", format="json")
    assert (response.status_code, response.json()["status"]) == (200, "canceled")


def test_refunds_up_to_the_bound_then_a_422(merchant_client, routing):
    payment = process(create(merchant_client))

    first = merchant_client.post(REFUNDS, {"payment": payment["id"], "amount": 2500, "reason": "damaged"},
                                 format="json")
    assert first.status_code == 201, first.content
    refund = first.json()
    assert {k: refund[k] for k in ("object", "payment", "amount", "currency", "status", "reason", "failure")} == {
        "object": "refund", "payment": payment["id"], "amount": 2500, "currency": "BHD", "status": "succeeded",
        "reason": "damaged", "failure": None}
    rest = merchant_client.post(REFUNDS, {"payment": payment["id"]}, format="json").json()
    assert rest["amount"] == 10000

    beyond = merchant_client.post(REFUNDS, {"payment": payment["id"], "amount": 1}, format="json")
    assert beyond.status_code == 422
    assert beyond.json()["code"] == "refund_exceeds_captured"
    assert beyond.json()["amount_refundable"] == 0

    shown = merchant_client.get(f"{PAYMENTS}/{payment['id']}").json()
    assert (shown["amount_refunded"], shown["amount_refundable"]) == (12500, 0)
    assert merchant_client.get(f"{REFUNDS}/{refund['id']}").json() == refund
    listed = merchant_client.get(REFUNDS, {"payment": payment["id"]}).json()["results"]
    assert [r["id"] for r in listed] == [rest["id"], refund["id"]]


def test_a_refund_of_an_unfinished_or_foreign_payment_is_refused(merchant_client, routing):
    payment = process(create(merchant_client, capture_method="manual"))
    response = merchant_client.post(REFUNDS, {"payment": payment["id"]}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "payment_not_refundable")
    other = authenticated_client(merchant_with_key()[1])
    assert other.post(REFUNDS, {"payment": payment["id"]}, format="json").status_code == 404
    assert other.get(f"{REFUNDS}/re_nonsense").status_code == 404


def test_a_pending_refund_is_a_202(merchant_client, routing):
    payment = process(create(merchant_client))
    routing["alpha"].answer("refund", UNKNOWN)
    response = merchant_client.post(REFUNDS, {"payment": payment["id"], "amount": 100}, format="json")
    assert (response.status_code, response.json()["status"]) == (202, "pending")


def test_the_balance_per_currency_in_the_keys_mode(merchant_client, routing):
    assert merchant_client.get("/api/v1/balance").json() == {
        "livemode": False, "balances": [{"currency": "BHD", "pending": 0, "available": 0, "reserve": 0}]}
    payment = process(create(merchant_client))
    routing["alpha"].answer("refund", UNKNOWN)
    merchant_client.post(REFUNDS, {"payment": payment["id"], "amount": 2500}, format="json")

    assert merchant_client.get("/api/v1/balance").json()["balances"] == [
        {"currency": "BHD", "pending": 10000, "available": 0, "reserve": 0}]
    live = authenticated_client(merchant_with_key(mode="live")[1])
    assert live.get("/api/v1/balance").json()["balances"][0]["pending"] == 0


def test_the_balance_reads_every_currency_in_one_query(merchant_client):
    with CaptureQueriesContext(connection) as one_currency:
        assert merchant_client.get("/api/v1/balance").status_code == 200
    many = authenticated_client(merchant_with_key(currencies=["BHD", "SAR", "AED", "KWD", "USD"])[1])

    with CaptureQueriesContext(connection) as five_currencies:
        balances = many.get("/api/v1/balance").json()["balances"]

    assert [row["currency"] for row in balances] == ["BHD", "SAR", "AED", "KWD", "USD"]
    assert len(five_currencies) == len(one_currency)


def test_the_openapi_schema_documents_the_payment_endpoints(api_client):
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/v1/payments", "/api/v1/payments/{payment_id}", "/api/v1/payments/{payment_id}/capture",
                 "/api/v1/payments/{payment_id}/cancel", "/api/v1/refunds", "/api/v1/refunds/{refund_id}",
                 "/api/v1/balance"):
        assert path in schema["paths"], path
    create_op = schema["paths"]["/api/v1/payments"]["post"]
    examples = create_op["requestBody"]["content"]["application/json"]["examples"]
    assert any(example["value"]["currency"] == "BHD" for example in examples.values())
    codes = {problem["code"] for problem in api_client.get("/api/v1/problems").json()}
    assert {"refund_exceeds_captured", "insufficient_balance", "card_number_refused"} <= codes


# --- modes: a live key never reaches the sandbox ------------------------------------------------


def test_a_live_card_payment_with_no_live_connector_is_refused_and_nothing_is_written():
    _, secret = merchant_with_key(mode="live")
    live = authenticated_client(secret)

    response = live.post(PAYMENTS, body(), format="json", HTTP_IDEMPOTENCY_KEY="live-1")

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "no_connector_available"
    assert problem["detail"] == (
        "No connector is eligible (no rule matched, default): no live connector takes card payments.")
    assert not Payment.objects.exists()
    assert outbox_tasks() == []
    assert live.get("/api/v1/balance").json()["balances"][0]["pending"] == 0


def test_the_same_card_payment_with_a_test_key_is_accepted(merchant_client):
    assert create(merchant_client)["livemode"] is False


def test_the_payment_keeps_the_requests_idempotency_key(merchant, merchant_client, routing):
    response = merchant_client.post(PAYMENTS, body(), format="json", HTTP_IDEMPOTENCY_KEY="order-9")

    assert response.status_code == 202
    payment = Payment.objects.get()
    assert (payment.merchant_id, payment.livemode, payment.request_idempotency_key) == (merchant.pk, False, "order-9")


def test_a_live_wallet_payment_goes_through_fincores_live_wallets_and_clears_to_zero():
    merchant, secret = merchant_with_key(mode="live")
    wallet = ledger_factories.wallet(merchant_id=merchant.pk, livemode=True)
    ledger_factories.fund(wallet, 20000)
    live = authenticated_client(secret)

    payment = process(create(live, payment_method={"type": "wallet", "account": ids.encode("acc", wallet.pk)}))

    shown = live.get(f"{PAYMENTS}/{payment['id']}").json()
    assert (shown["status"], shown["connector"], shown["livemode"]) == ("succeeded", "wallet_live", True)
    assert posted(clearing("wallet_live", livemode=True)) == 0
    assert live.get("/api/v1/balance").json()["balances"][0]["pending"] == 12500
