"""The merchant's webhook API: endpoints, events, redelivery; its own objects in its key's mode only."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.core import ids
from apps.events.webhooks import event_types, signing
from apps.events.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.events.webhooks.services import deliveries, endpoints
from apps.merchants.models import ApiKey
from tests.core.api.assertions import assert_problem
from tests.events.webhooks.helpers import STAFF, emit, endpoint_create, running_receiver
from tests.factories.merchants import api_key_issue, authenticated_client, merchant_with_key
from tests.support.time_travel import a_day_ahead

pytestmark = pytest.mark.django_db

T0 = a_day_ahead()  # later than the merchant and key fixtures make at the present
HOOK = "http://127.0.0.1:8099/hooks"


def _local(instant: datetime) -> str:
    """An instant as the API shows it: in Asia/Bahrain."""
    return timezone.localtime(instant).isoformat()


def _utc(instant: datetime) -> str:
    """An instant for a query string."""
    return f"{instant:%Y-%m-%dT%H:%M:%SZ}"


def _create(client, body=None, **headers):
    return client.post("/api/v1/webhook_endpoints", body if body is not None else {
        "url": HOOK, "events": ["payment.succeeded"], "description": "order system",
    }, format="json", **headers)


@pytest.fixture
def other():
    return merchant_with_key(legal_name="Other Shop B.S.C.")


# --- endpoints ----------------------------------------------------------------------------------

def test_create_answers_201_with_the_secret_once_and_audits_it(merchant, merchant_client, time_machine):
    time_machine.move_to(T0, tick=False)
    response = _create(merchant_client)

    assert response.status_code == 201, response.content
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body == {
        "id": ids.encode("we", endpoint.pk), "url": HOOK, "events": ["payment.succeeded"],
        "description": "order system", "status": "enabled", "disabled_at": None, "disabled_reason": "",
        "livemode": False, "created": _local(T0), "updated": _local(T0),
        "secret_rotated_at": None, "previous_secret_expires_at": None, "deleted": False,
        "secret": endpoints.webhook_endpoint_secret(endpoint=endpoint),
    }
    assert response["Location"] == f"/api/v1/webhook_endpoints/{body['id']}"
    assert response["Cache-Control"] == "no-store"
    assert (endpoint.merchant_id, endpoint.livemode) == (merchant.pk, False)
    audit = AuditEvent.objects.get(action="webhook_endpoint.created")
    assert (audit.actor_type, audit.merchant_id, audit.object_id) == ("api_key", str(merchant.pk), body["id"])
    assert body["secret"] not in str(audit.after)

    shown = merchant_client.get(f"/api/v1/webhook_endpoints/{body['id']}").json()
    assert "secret" not in shown
    listed = merchant_client.get("/api/v1/webhook_endpoints").json()["results"]
    assert [item["id"] for item in listed] == [body["id"]] and "secret" not in listed[0]


def test_create_replays_with_the_same_idempotency_key(merchant_client):
    first = _create(merchant_client, HTTP_IDEMPOTENCY_KEY="we-1")
    again = _create(merchant_client, HTTP_IDEMPOTENCY_KEY="we-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert WebhookEndpoint.objects.count() == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"events": ["*"]}, "url"),
    ({"url": HOOK}, "events"),
    ({"url": HOOK, "events": []}, "events"),
    ({"url": HOOK, "events": "payment.succeeded"}, "events"),
    ({"url": "x" * 2049, "events": ["*"]}, "url"),
])
def test_malformed_requests_are_validation_problems(merchant_client, body, field):
    body = assert_problem(_create(merchant_client, body), status=400, code="validation_error")
    assert [error["field"] for error in body["errors"]] == [field]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(("url", "events", "detail"), [
    ("ftp://127.0.0.1/x", ["*"], "The URL must start with https:// (or http:// in test mode)."),
    ("http://user:pw@127.0.0.1/x", ["*"],
     "The URL must not contain a user name or password; authenticate requests by their signature."),
    (HOOK, ["payment.exploded"], "Unknown event types: 'payment.exploded'."),
])
def test_refused_endpoints_are_problems_and_leave_nothing(merchant_client, url, events, detail):
    response = _create(merchant_client, {"url": url, "events": events})
    body = assert_problem(response, status=400, code="invalid_webhook_endpoint")
    assert body["detail"].startswith(detail.rstrip("."))
    assert not WebhookEndpoint.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="webhook_endpoint").exists()


def test_a_live_key_needs_https(merchant):
    live = authenticated_client(api_key_issue(merchant, mode=ApiKey.Mode.LIVE))
    response = _create(live)
    assert_problem(response, status=400, code="invalid_webhook_endpoint",
                   detail="Live-mode endpoints must use https://.")
    response = _create(live, {"url": "https://127.0.0.1:8443/hooks", "events": ["*"]})
    assert response.status_code == 201
    assert response.json()["livemode"] is True


def test_update_changes_fields_and_audits_only_what_changed(merchant_client):
    endpoint_id = _create(merchant_client).json()["id"]
    response = merchant_client.post(f"/api/v1/webhook_endpoints/{endpoint_id}",
                                    {"events": ["*"], "description": "order system"}, format="json")
    assert response.status_code == 200
    assert response.json()["events"] == ["*"]
    audit = AuditEvent.objects.get(action="webhook_endpoint.updated")
    assert (audit.before, audit.after) == ({"events": ["payment.succeeded"]}, {"events": ["*"]})


def test_a_merchant_disables_and_enables_its_endpoint(merchant_client):
    endpoint_id = _create(merchant_client).json()["id"]
    disabled = merchant_client.post(f"/api/v1/webhook_endpoints/{endpoint_id}", {"enabled": False}, format="json")
    key = ApiKey.objects.get()
    assert (disabled.json()["status"], disabled.json()["disabled_reason"]) == (
        "disabled", f"Disabled by {key.hint}… ({key.name})."
    )
    assert WebhookEndpoint.objects.get().disabled_cause == "merchant"
    enabled = merchant_client.post(f"/api/v1/webhook_endpoints/{endpoint_id}", {"enabled": True}, format="json")
    assert (enabled.json()["status"], enabled.json()["disabled_at"]) == ("enabled", None)


def test_a_merchant_cannot_enable_an_endpoint_fincore_disabled(merchant_client):
    endpoint_id = _create(merchant_client).json()["id"]
    endpoints.webhook_endpoint_disable(endpoint_id=ids.decode("we", endpoint_id), actor=STAFF,
                                       reason="abuse: posts to a third party")

    response = merchant_client.post(f"/api/v1/webhook_endpoints/{endpoint_id}", {"enabled": True}, format="json")

    assert_problem(response, status=422, code="webhook_endpoint_disabled")
    assert "abuse: posts to a third party" in response.json()["detail"]
    assert WebhookEndpoint.objects.get().disabled_cause == "staff"


def test_an_empty_update_is_a_validation_problem(merchant_client):
    endpoint_id = _create(merchant_client).json()["id"]
    assert_problem(merchant_client.post(f"/api/v1/webhook_endpoints/{endpoint_id}", {}, format="json"),
                   status=400, code="validation_error")


def test_delete_removes_the_endpoint_for_good_and_is_audited(merchant, merchant_client):
    endpoint_id = _create(merchant_client).json()["id"]
    response = merchant_client.delete(f"/api/v1/webhook_endpoints/{endpoint_id}")
    assert response.status_code == 200
    assert (response.json()["deleted"], response.json()["status"]) == (True, "deleted")
    assert merchant_client.get("/api/v1/webhook_endpoints").json()["results"] == []
    assert_problem(merchant_client.get(f"/api/v1/webhook_endpoints/{endpoint_id}"), status=404, code="not_found")
    assert_problem(merchant_client.delete(f"/api/v1/webhook_endpoints/{endpoint_id}"), status=404, code="not_found")
    audit = AuditEvent.objects.get(action="webhook_endpoint.deleted")
    assert (audit.actor_type, audit.merchant_id) == ("api_key", str(merchant.pk))
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.deleted_at is not None and not endpoint.enabled
    emit(merchant)
    assert not WebhookDelivery.objects.exists()


def test_rotate_secret_returns_the_new_secret_and_both_sign_for_the_overlap(merchant_client, time_machine):
    time_machine.move_to(T0, tick=False)
    created = _create(merchant_client).json()
    response = merchant_client.post(f"/api/v1/webhook_endpoints/{created['id']}/rotate_secret",
                                    {"expires_in": 3600}, format="json")
    assert response.status_code == 200
    rotated = response.json()
    assert rotated["secret"] != created["secret"] and rotated["secret"].startswith("whsec_")
    assert rotated["previous_secret_expires_at"] == _local(T0 + timedelta(hours=1))
    endpoint = WebhookEndpoint.objects.get()
    assert endpoints.webhook_endpoint_signing_secrets(endpoint=endpoint, at=T0) == [rotated["secret"],
                                                                                    created["secret"]]
    too_long = merchant_client.post(f"/api/v1/webhook_endpoints/{created['id']}/rotate_secret",
                                    {"expires_in": 8 * 24 * 3600}, format="json")
    assert_problem(too_long, status=400, code="validation_error")
    default = merchant_client.post(f"/api/v1/webhook_endpoints/{created['id']}/rotate_secret", {}, format="json")
    assert default.json()["previous_secret_expires_at"] == _local(T0 + timedelta(days=1))


def test_the_endpoint_limit_is_a_422(merchant_client):
    for _ in range(endpoints.MAX_ENDPOINTS_PER_MODE):
        assert _create(merchant_client).status_code == 201
    assert_problem(_create(merchant_client), status=422, code="webhook_endpoint_limit_reached")


# --- ownership and modes ------------------------------------------------------------------------

def test_another_merchants_endpoint_is_not_found_for_any_operation(merchant_client, other):
    other_merchant, _ = other
    theirs = ids.encode("we", endpoint_create(other_merchant).endpoint.pk)
    for response in (
        merchant_client.get(f"/api/v1/webhook_endpoints/{theirs}"),
        merchant_client.post(f"/api/v1/webhook_endpoints/{theirs}", {"enabled": False}, format="json"),
        merchant_client.delete(f"/api/v1/webhook_endpoints/{theirs}"),
        merchant_client.post(f"/api/v1/webhook_endpoints/{theirs}/rotate_secret", {}, format="json"),
    ):
        assert_problem(response, status=404, code="not_found", detail=f"No webhook endpoint {theirs!r}.")
    assert WebhookEndpoint.objects.get().enabled
    assert WebhookEndpoint.objects.get().secret_generation == 1
    assert merchant_client.get("/api/v1/webhook_endpoints").json()["results"] == []


def test_the_other_modes_endpoints_and_events_are_invisible(merchant, merchant_client):
    live = authenticated_client(api_key_issue(merchant, mode=ApiKey.Mode.LIVE))
    live_endpoint = ids.encode("we", endpoint_create(merchant, livemode=True, url="https://127.0.0.1/h").endpoint.pk)
    live_event = emit(merchant, livemode=True)
    assert_problem(merchant_client.get(f"/api/v1/webhook_endpoints/{live_endpoint}"), status=404, code="not_found")
    assert_problem(merchant_client.get(f"/api/v1/events/{live_event}"), status=404, code="not_found")
    assert merchant_client.get("/api/v1/events").json()["results"] == []
    assert [e["id"] for e in live.get("/api/v1/events").json()["results"]] == [live_event]
    assert live.get(f"/api/v1/webhook_endpoints/{live_endpoint}").status_code == 200


def test_malformed_and_wrong_prefix_ids_are_not_found(merchant, merchant_client):
    event_id = emit(merchant)
    for path in ("/api/v1/webhook_endpoints/we_nope", f"/api/v1/webhook_endpoints/{event_id}",
                 "/api/v1/events/evt_123", f"/api/v1/events/{event_id.replace('evt_', 'we_')}"):
        assert_problem(merchant_client.get(path), status=404, code="not_found")


def test_no_key_is_a_401(api_client):
    assert_problem(api_client.get("/api/v1/events"), status=401, code="not_authenticated")


# --- events ---------------------------------------------------------------------------------------

def test_events_list_newest_first_with_type_and_period_filters(merchant, merchant_client, other, time_machine):
    time_machine.move_to(T0, tick=False)
    first = emit(merchant, event_type="payment.succeeded")
    time_machine.move_to(T0 + timedelta(hours=1), tick=False)
    second = emit(merchant, event_type="payment.failed")
    time_machine.move_to(T0 + timedelta(hours=2), tick=False)
    third = emit(merchant, event_type="payment.succeeded")
    emit(other[0])

    def listed(query: str = "") -> list[str]:
        response = merchant_client.get(f"/api/v1/events{query}")
        assert response.status_code == 200, response.content
        return [event["id"] for event in response.json()["results"]]

    assert listed() == [third, second, first]
    assert listed("?type=payment.succeeded") == [third, first]
    assert listed("?type=payment.*") == [third, second, first]
    assert listed(f"?from={_utc(T0 + timedelta(hours=1))}") == [third, second]
    assert listed(f"?from={_utc(T0 + timedelta(hours=1))}&to={_utc(T0 + timedelta(hours=2))}") == [second]
    assert listed("?limit=2") == [third, second]
    page = merchant_client.get("/api/v1/events?limit=2").json()
    assert [e["id"] for e in merchant_client.get(page["next"]).json()["results"]] == [first]
    body = assert_problem(merchant_client.get("/api/v1/events?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z"),
                          status=400, code="validation_error")
    assert body["errors"][0]["field"] == "to"


def test_an_event_shows_its_envelope_deliveries_and_attempts(merchant, merchant_client, time_machine):
    time_machine.move_to(T0, tick=False)
    with running_receiver([500, 200]) as receiver:
        endpoint = endpoint_create(merchant, url=receiver.url).endpoint
        event_id = emit(merchant, data={"object": {"id": "pay_1", "object": "payment", "amount": 12500}})
        delivery = WebhookDelivery.objects.get()
        deliveries.webhook_delivery_send(delivery_id=delivery.pk, attempt=0)
        time_machine.move_to(T0 + timedelta(minutes=1), tick=False)
        deliveries.webhook_delivery_send(delivery_id=delivery.pk, attempt=1)

    with CaptureQueriesContext(connection) as queries:
        response = merchant_client.get(f"/api/v1/events/{event_id}")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("id", "type", "created", "livemode", "data")} == {
        "id": event_id, "type": "payment.succeeded", "created": _local(T0), "livemode": False,
        "data": {"object": {"id": "pay_1", "object": "payment", "amount": 12500}},
    }
    [shown] = body["deliveries"]
    assert shown["id"] == ids.encode("whd", delivery.pk)
    assert (shown["endpoint"], shown["url"], shown["status"], shown["attempt_count"]) == (
        ids.encode("we", endpoint.pk), receiver.url, "succeeded", 2
    )
    assert shown["next_attempt_at"] is None and shown["manual"] is False
    assert [(a["number"], a["response_status"], a["succeeded"]) for a in shown["attempts"]] == [
        (1, 500, False), (2, 200, True)
    ]
    assert shown["attempts"][0]["response_body"] == '{"received": false}'
    # Authentication (key + merchant), then the event, its deliveries with endpoints, their attempts.
    event_queries = [q for q in queries.captured_queries if "events_webhook" in q["sql"]]
    assert len(event_queries) == 3


def test_the_envelope_in_the_api_is_the_one_that_was_signed(merchant, merchant_client):
    with running_receiver([200]) as receiver:
        issued = endpoint_create(merchant, url=receiver.url)
        event_id = emit(merchant)
        deliveries.webhook_delivery_send(delivery_id=WebhookDelivery.objects.get().pk, attempt=0)
    [request] = receiver.received
    header = request.headers["Fincore-Signature"]
    timestamp = int(header.split(",")[0][2:])
    assert signing.signature_verify(header=header, body=request.body, secret=issued.secret, now=timestamp)
    shown = merchant_client.get(f"/api/v1/events/{event_id}").json()
    assert {k: shown[k] for k in request.json} == request.json


def test_redeliver_creates_new_deliveries_and_is_audited(merchant, merchant_client):
    endpoint_a = endpoint_create(merchant).endpoint
    endpoint_b = endpoint_create(merchant).endpoint
    event_id = emit(merchant)

    everywhere = merchant_client.post(f"/api/v1/events/{event_id}/redeliver", {}, format="json")
    assert everywhere.status_code == 202
    assert sum(d["manual"] for d in everywhere.json()["deliveries"]) == 2

    one = merchant_client.post(f"/api/v1/events/{event_id}/redeliver",
                               {"endpoint": ids.encode("we", endpoint_b.pk)}, format="json")
    assert one.status_code == 202
    manual = WebhookDelivery.objects.filter(manual=True)
    assert sorted(str(d.endpoint_id) for d in manual) == sorted(
        [str(endpoint_a.pk), str(endpoint_b.pk), str(endpoint_b.pk)]
    )
    audits = AuditEvent.objects.filter(action="webhook_event.redelivered")
    assert audits.count() == 2
    assert {a.actor_type for a in audits} == {"api_key"}


def test_redelivery_goes_only_where_the_event_went_never_to_an_endpoint_subscribed_since(merchant, merchant_client):
    first = endpoint_create(merchant).endpoint
    event_id = emit(merchant)
    endpoint_create(merchant)  # subscribed after the event
    merchant_client.post(f"/api/v1/webhook_endpoints/{ids.encode('we', first.pk)}", {"enabled": False},
                         format="json")

    response = merchant_client.post(f"/api/v1/events/{event_id}/redeliver", {}, format="json")

    assert_problem(response, status=422, code="webhook_endpoint_disabled")
    assert not WebhookDelivery.objects.filter(manual=True).exists()


def test_redelivery_to_another_merchants_or_a_disabled_endpoint_is_refused(merchant, merchant_client, other):
    event_id = emit(merchant)
    theirs = ids.encode("we", endpoint_create(other[0]).endpoint.pk)
    response = merchant_client.post(f"/api/v1/events/{event_id}/redeliver", {"endpoint": theirs}, format="json")
    assert_problem(response, status=404, code="not_found", detail=f"No webhook endpoint {theirs!r}.")

    mine = endpoint_create(merchant).endpoint
    merchant_client.post(f"/api/v1/webhook_endpoints/{ids.encode('we', mine.pk)}", {"enabled": False},
                         format="json")
    response = merchant_client.post(f"/api/v1/events/{event_id}/redeliver",
                                    {"endpoint": ids.encode("we", mine.pk)}, format="json")
    assert_problem(response, status=422, code="webhook_endpoint_disabled")
    assert not WebhookDelivery.objects.exists()
    assert not AuditEvent.objects.filter(action="webhook_event.redelivered").exists()


def test_another_merchants_event_cannot_be_redelivered(merchant_client, other):
    theirs = emit(other[0])
    response = merchant_client.post(f"/api/v1/events/{theirs}/redeliver", {}, format="json")
    assert_problem(response, status=404, code="not_found", detail=f"No event {theirs!r}.")


def test_event_types_are_listed_from_the_catalogue_by_name(merchant_client):
    listed = merchant_client.get("/api/v1/event_types").json()
    assert listed == [
        {"type": event_type.name, "object": event_type.object, "description": event_type.description}
        for event_type in sorted(event_types.EVENT_TYPES, key=lambda event_type: event_type.name)
    ]
    assert listed[0] == {"type": "payment.canceled", "object": "payment",
                         "description": "An authorized payment was canceled; the authorization is released."}
    assert len(listed) == 13


def test_the_lists_cost_the_same_queries_for_few_or_many_objects(merchant, merchant_client,
                                                                 django_assert_max_num_queries):
    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert merchant_client.get(url).status_code == 200
        return len(queries)

    for _ in range(2):
        endpoint_create(merchant)
        emit(merchant)
    few = {url: count(url) for url in ("/api/v1/events", "/api/v1/webhook_endpoints")}
    for _ in range(10):
        endpoint_create(merchant)
        emit(merchant)
    for url, queries in few.items():
        with django_assert_max_num_queries(queries):
            assert len(merchant_client.get(url).json()["results"]) == 12
