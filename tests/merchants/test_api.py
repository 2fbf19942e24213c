"""The merchant API: its own merchant, its keys, revoking one; never another merchant's."""


import pytest
import time_machine
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.core import ids
from apps.core.models import IdempotencyRecord
from apps.merchants import services
from apps.merchants.models import ApiKey, Merchant
from tests.core.api.assertions import assert_problem
from tests.factories.merchants import FACTORY_ACTOR, api_key_issue, api_key_of, authenticated_client, merchant_with_key
from tests.support.time_travel import a_day_ahead

pytestmark = pytest.mark.django_db

T0 = a_day_ahead()  # later than the rows fixtures write at the present


def _public(api_key: ApiKey) -> str:
    return ids.encode("key", api_key.pk)


def _revoke(client, api_key: ApiKey, body: object = None, **headers: str):
    return client.post(
        f"/api/v1/api_keys/{_public(api_key)}/revoke",
        {"reason": "leaked in a log"} if body is None else body,
        format="json",
        **headers,
    )


@pytest.fixture
def merchant_and_secret(db) -> tuple[Merchant, str]:
    """The calling merchant and its live key: a key manages only the keys of its own mode."""
    return merchant_with_key(mode=ApiKey.Mode.LIVE)


@pytest.fixture
def other() -> tuple[Merchant, str]:
    """Merchant B, with its own live key (the caller's mode, so only the merchant differs)."""
    return merchant_with_key(legal_name="Other Shop B.S.C.", mode=ApiKey.Mode.LIVE)


@pytest.fixture
def target_secret(merchant: Merchant) -> str:
    """The secret of another key of the calling merchant, the one the tests revoke."""
    return api_key_issue(merchant, name="old checkout server", mode="live")


@pytest.fixture
def target(target_secret: str) -> ApiKey:
    return api_key_of(target_secret)


# --- reading -----------------------------------------------------------------------------


def test_a_key_is_shown_without_its_secret(merchant_client, target):
    response = merchant_client.get(f"/api/v1/api_keys/{_public(target)}")

    assert response.status_code == 200
    assert response.json() == {
        "id": _public(target),
        "name": "old checkout server",
        "mode": "live",
        "hint": target.hint,
        "created": timezone.localtime(target.created_at).isoformat(),
        "last_used": None,
        "revoked": False,
        "revoked_at": None,
    }
    assert target.hint.startswith("fc_live_") and len(target.hint) == 12


def test_the_list_shows_only_the_callers_keys(merchant, merchant_client, secret, target, other):
    other_merchant, _other_secret = other
    api_key_issue(other_merchant, name="B's second key")

    response = merchant_client.get("/api/v1/api_keys")

    assert response.status_code == 200
    assert [api_key["id"] for api_key in response.json()["results"]] == [_public(target), _public(api_key_of(secret))]
    assert ApiKey.objects.filter(merchant=other_merchant).count() == 2


def test_another_merchants_key_is_not_found(merchant_client, other):
    _other_merchant, other_secret = other
    their_key = api_key_of(other_secret)

    response = merchant_client.get(f"/api/v1/api_keys/{_public(their_key)}")

    assert_problem(response, status=404, code="not_found", detail=f"No API key {_public(their_key)!r}.")


def test_another_merchants_key_cannot_be_revoked(merchant_client, other):
    _other_merchant, other_secret = other
    their_key = api_key_of(other_secret)
    events = AuditEvent.objects.count()

    response = _revoke(merchant_client, their_key)

    assert_problem(response, status=404, code="not_found", detail=f"No API key {_public(their_key)!r}.")
    their_key.refresh_from_db()
    assert their_key.revoked_at is None
    assert AuditEvent.objects.count() == events
    assert authenticated_client(other_secret).get("/api/v1/merchant").status_code == 200


# --- test and live keys never see each other ------------------------------------------------


@pytest.fixture
def keys_of_both_modes(merchant) -> dict[str, dict[str, str]]:
    """Two keys of each mode for one merchant: ``{mode: {"caller": secret, "target": secret}}``."""
    return {
        mode: {
            "caller": api_key_issue(merchant, mode=mode, name=f"{mode} server"),
            "target": api_key_issue(merchant, mode=mode, name=f"old {mode} server"),
        }
        for mode in (ApiKey.Mode.TEST, ApiKey.Mode.LIVE)
    }


BOTH_DIRECTIONS = pytest.mark.parametrize(
    ("caller_mode", "other_mode"),
    [(ApiKey.Mode.TEST, ApiKey.Mode.LIVE), (ApiKey.Mode.LIVE, ApiKey.Mode.TEST)],
)


@BOTH_DIRECTIONS
def test_the_list_shows_only_the_keys_of_the_callers_mode(secret, keys_of_both_modes, caller_mode, other_mode):
    own = keys_of_both_modes[caller_mode]
    callers_first_key = [_public(api_key_of(secret))] if caller_mode == ApiKey.Mode.LIVE else []

    response = authenticated_client(own["caller"]).get("/api/v1/api_keys")

    assert response.status_code == 200
    listed = response.json()["results"]
    assert [api_key["id"] for api_key in listed] == [
        _public(api_key_of(own["target"])), _public(api_key_of(own["caller"])), *callers_first_key
    ]
    assert {api_key["mode"] for api_key in listed} == {caller_mode}


@BOTH_DIRECTIONS
def test_a_key_of_the_other_mode_is_not_found(keys_of_both_modes, caller_mode, other_mode):
    theirs = api_key_of(keys_of_both_modes[other_mode]["target"])

    response = authenticated_client(keys_of_both_modes[caller_mode]["caller"]).get(
        f"/api/v1/api_keys/{_public(theirs)}"
    )

    assert_problem(response, status=404, code="not_found", detail=f"No API key {_public(theirs)!r}.")


@BOTH_DIRECTIONS
def test_a_key_of_the_other_mode_cannot_be_revoked(keys_of_both_modes, caller_mode, other_mode):
    their_secret = keys_of_both_modes[other_mode]["target"]
    theirs = api_key_of(their_secret)
    events = AuditEvent.objects.count()

    response = _revoke(authenticated_client(keys_of_both_modes[caller_mode]["caller"]), theirs)

    assert_problem(response, status=404, code="not_found", detail=f"No API key {_public(theirs)!r}.")
    theirs.refresh_from_db()
    assert (theirs.revoked_at, theirs.revoked_by, theirs.revoke_reason) == (None, "", "")
    assert AuditEvent.objects.count() == events
    assert authenticated_client(their_secret).get("/api/v1/merchant").status_code == 200


@BOTH_DIRECTIONS
def test_a_key_of_the_callers_mode_is_revoked(keys_of_both_modes, caller_mode, other_mode):
    ours = api_key_of(keys_of_both_modes[caller_mode]["target"])

    response = _revoke(authenticated_client(keys_of_both_modes[caller_mode]["caller"]), ours)

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["mode"], response.json()["revoked"]) == (
        _public(ours), caller_mode, True
    )
    assert not ApiKey.objects.filter(mode=other_mode, revoked_at__isnull=False).exists()


def test_the_merchant_id_cannot_be_used_as_a_key_id(merchant, merchant_client):
    # Same UUID space, other prefix: refused rather than silently looked up.
    response = merchant_client.get(f"/api/v1/api_keys/{ids.encode('mer', merchant.pk)}")

    assert_problem(response, status=404, code="not_found")


# --- revoking ----------------------------------------------------------------------------


def test_revoking_a_key_journals_who_and_why(merchant, merchant_client, secret, target, target_secret):
    caller = api_key_of(secret)

    with time_machine.travel(T0, tick=False):
        response = _revoke(merchant_client, target, {"reason": "  rotated after an incident  "})

    assert response.status_code == 200
    assert response.json() == {
        "id": _public(target),
        "name": "old checkout server",
        "mode": "live",
        "hint": target.hint,
        "created": timezone.localtime(target.created_at).isoformat(),
        "last_used": None,
        "revoked": True,
        "revoked_at": timezone.localtime(T0).isoformat(),
    }
    target.refresh_from_db()
    assert target.revoked_at == T0
    assert target.revoke_reason == "rotated after an incident"
    assert target.revoked_by == f"{caller.hint}… (checkout server)"
    event = AuditEvent.objects.get(action="api_key.revoked")
    assert event.actor_type == "api_key"
    assert event.actor_id == _public(caller)
    assert event.actor_label == f"{caller.hint}… (checkout server)"
    assert event.merchant_id == str(merchant.pk)
    assert (event.object_type, event.object_id) == ("merchants.apikey", str(target.pk))
    assert (event.before, event.after) == ({"revoked": False}, {"revoked": True})
    assert event.reason == "rotated after an incident"
    assert event.request_id == response["X-Request-Id"]
    assert event.ip == "127.0.0.1"
    assert event.occurred_at == T0
    # The revoked key no longer works; the caller's still does.
    assert_problem(
        authenticated_client(target_secret).get("/api/v1/merchant"), status=401, code="api_key_revoked"
    )
    assert merchant_client.get("/api/v1/merchant").status_code == 200


def test_a_key_can_revoke_itself_and_is_refused_from_then_on(merchant_client, secret):
    caller = api_key_of(secret)

    response = _revoke(merchant_client, caller)
    after = merchant_client.get("/api/v1/merchant")

    assert response.status_code == 200
    assert response.json()["revoked"] is True
    assert_problem(after, status=401, code="api_key_revoked")


@pytest.mark.parametrize(
    ("body", "code", "detail"),
    [
        ({}, "required", "This field is required."),
        ({"reason": ""}, "blank", "This field may not be blank."),
        ({"reason": "   "}, "blank", "This field may not be blank."),
        ({"reason": None}, "null", "This field may not be null."),
        ({"reason": "x" * 1001}, "max_length", "Ensure this field has no more than 1000 characters."),
    ],
)
def test_a_reason_is_required(merchant_client, target, body, code, detail):
    events = AuditEvent.objects.count()

    response = _revoke(merchant_client, target, body)

    problem = assert_problem(response, status=400, code="validation_error")
    assert problem["errors"] == [{"field": "reason", "code": code, "detail": detail}]
    target.refresh_from_db()
    assert target.revoked_at is None
    assert AuditEvent.objects.count() == events


def test_revoking_twice_is_409_and_journals_once(merchant_client, target):
    assert _revoke(merchant_client, target).status_code == 200
    target.refresh_from_db()
    first_revocation = target.revoked_at

    response = _revoke(merchant_client, target, {"reason": "again"})

    assert_problem(response, status=409, code="api_key_already_revoked")
    target.refresh_from_db()
    assert (target.revoked_at, target.revoke_reason) == (first_revocation, "leaked in a log")
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_revoking_twice_with_one_idempotency_key_replays_the_first_200(merchant_client, target):
    first = _revoke(merchant_client, target, HTTP_IDEMPOTENCY_KEY="rotate-2026-03")

    retry = _revoke(merchant_client, target, HTTP_IDEMPOTENCY_KEY="rotate-2026-03")

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_a_suspended_merchant_cannot_revoke(merchant, merchant_client, target):
    services.merchant_suspend(merchant_id=merchant.pk, actor=FACTORY_ACTOR, reason="KYC review")

    response = _revoke(merchant_client, target, HTTP_IDEMPOTENCY_KEY="k")

    assert_problem(response, status=403, code="merchant_suspended")
    target.refresh_from_db()
    assert target.revoked_at is None
    assert not IdempotencyRecord.objects.exists()
