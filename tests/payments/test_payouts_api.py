"""GET /api/v1/payouts and /payouts/{id}: a merchant's own payouts of its key's mode, newest first,
filtered and paginated like every list; another merchant's id answers 404; the IBAN shows its last
four characters only; every state conforms to the OpenAPI schema, and webhooks carry the same."""

from datetime import timedelta

import pytest
import time_machine

from apps.core import clock, ids
from apps.events.webhooks.models import WebhookEvent
from apps.merchants.models import ApiKey
from apps.payments import services
from apps.payments.representations import payout_representation
from tests.factories.merchants import api_key_issue, authenticated_client
from tests.factories.payouts import NOSTRO, SETTLEMENT, funded_merchant, payout
from tests.payments.test_representations import _conforms, components  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def _client(merchant, mode=ApiKey.Mode.TEST):
    return authenticated_client(api_key_issue(merchant, mode=mode))


def _in_every_state(merchant):
    made = [payout(merchant, 1000 + n, reference=f"stl_{n}") for n in range(5)]
    with time_machine.travel(clock.now() + timedelta(hours=24, seconds=1)):
        services.payouts_send(payout_ids=[p.pk for p in made[1:]], nostro=NOSTRO, file_reference="F1",
                              actor=SETTLEMENT)
        services.payout_paid(payout_id=made[2].pk, actor=SETTLEMENT)
        services.payout_paid(payout_id=made[3].pk, actor=SETTLEMENT)
        services.payout_returned(payout_id=made[3].pk, reason_code="AC04", reason="Closed account", actor=SETTLEMENT)
        services.payout_failed(payout_id=made[4].pk, reason_code="AC01", reason="Incorrect account number",
                               actor=SETTLEMENT)
    for item in made:
        item.refresh_from_db()
    return made


def test_one_payout_as_the_merchant_sees_it():
    merchant = funded_merchant(50_000)
    made = payout(merchant, 12_500, reference="stl_01JDX3LINE")

    response = _client(merchant).get(f"/api/v1/payouts/{ids.encode('po', made.pk)}")

    assert response.status_code == 200
    assert response.json() == {
        "id": ids.encode("po", made.pk), "object": "payout", "livemode": False, "status": "pending", "amount": 12_500,
        "currency": "BHD",
        "bank_account": {"last4": "3456", "bic": "BMAGBHBM", "beneficiary_name": merchant.legal_name},
        "settlement": "stl_01JDX3LINE", "end_to_end_id": made.end_to_end_id,
        "held_until": clock.isoformat(made.hold_until), "sent": None, "arrival": None, "failure": None,
        "created": clock.isoformat(made.created_at), "updated": clock.isoformat(made.updated_at),
    }
    assert "BH67BMAG00001299123456" not in response.content.decode()


def test_the_list_is_newest_first_filtered_and_paginated():
    merchant = funded_merchant(50_000)
    made = _in_every_state(merchant)
    client = _client(merchant)

    listed = client.get("/api/v1/payouts").json()
    assert [item["id"] for item in listed["results"]] == [ids.encode("po", p.pk) for p in reversed(made)]
    assert [item["status"] for item in client.get("/api/v1/payouts", {"status": "returned"}).json()["results"]] == [
        "returned"]
    assert client.get("/api/v1/payouts", {"currency": "USD"}).json()["results"] == []
    later = (made[-1].created_at + timedelta(seconds=1)).isoformat()
    assert client.get("/api/v1/payouts", {"created[gte]": later}).json()["results"] == []
    first_page = client.get("/api/v1/payouts", {"limit": 2}).json()
    assert len(first_page["results"]) == 2 and first_page["next"]
    assert client.get("/api/v1/payouts", {"status": "lost"}).status_code == 400
    failed = client.get(f"/api/v1/payouts/{ids.encode('po', made[4].pk)}").json()
    assert failed["failure"] == {"code": "AC01", "message": "Incorrect account number"}


def test_another_merchants_payout_or_the_other_modes_is_not_found():
    ours, theirs = funded_merchant(50_000), funded_merchant(50_000)
    their_payout = payout(theirs, 100)
    client = _client(ours)

    for path in (f"/api/v1/payouts/{ids.encode('po', their_payout.pk)}", "/api/v1/payouts/po_nonsense",
                 f"/api/v1/payouts/{ids.encode('pay', their_payout.pk)}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    assert client.get("/api/v1/payouts").json()["results"] == []
    live = _client(theirs, mode=ApiKey.Mode.LIVE)
    assert live.get(f"/api/v1/payouts/{ids.encode('po', their_payout.pk)}").status_code == 404


def test_payouts_in_every_state_and_their_webhooks_conform_to_the_schema(components):  # noqa: F811
    merchant = funded_merchant(50_000)
    for made in _in_every_state(merchant):
        _conforms(payout_representation(made), "Payout", components)
    events = WebhookEvent.objects.filter(type__startswith="payout.")
    assert {event.type for event in events} == {"payout.created", "payout.updated", "payout.paid", "payout.failed"}
    for event in events:
        _conforms(event.data["object"], "Payout", components)


def test_the_list_costs_the_same_queries_for_few_or_many(django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    merchant = funded_merchant(50_000)
    client = _client(merchant)
    payout(merchant, 100, reference="stl_a")
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/payouts")
    for n in range(10):
        payout(merchant, 100, reference=f"stl_{n}")
    with django_assert_max_num_queries(len(few)):
        assert len(client.get("/api/v1/payouts").json()["results"]) == 11


def test_a_payout_webhook_carries_exactly_what_the_api_returns():
    merchant = funded_merchant(50_000)
    made = payout(merchant, 12_500)
    public_id = ids.encode("po", made.pk)
    with time_machine.travel(clock.now() + timedelta(hours=24, seconds=1)):
        services.payouts_send(payout_ids=[made.pk], nostro=NOSTRO, file_reference="F1", actor=SETTLEMENT)
        services.payout_paid(payout_id=made.pk, actor=SETTLEMENT)

    shown = _client(merchant).get(f"/api/v1/payouts/{public_id}").json()

    [event] = WebhookEvent.objects.filter(type="payout.paid")
    assert event.data["object"] == shown
    assert shown["status"] == "paid" and shown["arrival"] is not None and shown["sent"] is not None
