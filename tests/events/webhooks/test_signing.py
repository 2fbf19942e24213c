"""Secrets derived (never stored), rotation's overlap, and signatures checked the way the README
tells merchants to check them: from the raw body, with nothing but hashlib and hmac."""

import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from apps.audit.models import AuditEvent
from apps.events.webhooks import signing
from apps.events.webhooks.models import WebhookEndpoint
from apps.events.webhooks.services import endpoints
from tests.events.webhooks.helpers import STAFF, endpoint_create
from tests.factories.merchants import MerchantFactory

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ENDPOINT_ID = uuid.UUID("01936f4e-8a5b-7c3d-9e1f-0123456789ab")


def readme_verify(*, header: str, raw_body: bytes, secret: str, now: int, tolerance: int = 300) -> bool:
    """The README's example, verbatim in substance."""
    fields = [part.split("=", 1) for part in header.split(",")]
    timestamp = int(next(value for key, value in fields if key == "t"))
    if abs(now - timestamp) > tolerance:
        return False
    signed = f"{timestamp}.".encode() + raw_body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, value) for key, value in fields if key == "v1")


# The README's example for merchants, verbatim.
def fincore_signature_valid(raw_body: bytes, header: str, secret: str, tolerance: int = 300) -> bool:
    """True if `header` (Fincore-Signature) signs `raw_body` with `secret` (whsec_...)."""
    fields = [item.split("=", 1) for item in header.split(",") if "=" in item]
    timestamps = [value for key, value in fields if key == "t"]
    if len(timestamps) != 1 or not timestamps[0].isdigit():
        return False
    timestamp = int(timestamps[0])
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, value) for key, value in fields if key == "v1")


def test_the_readme_example_accepts_fincores_signatures_and_nothing_else():
    body = '{"id":"evt_1","data":{"object":{"amount":12500,"note":"مرحبا"}}}'.encode()
    now = int(time.time())
    header = signing.signature_header(secrets=["whsec_new", "whsec_old"], timestamp=now, body=body)
    assert fincore_signature_valid(body, header, "whsec_new")
    assert fincore_signature_valid(body, header, "whsec_old")
    assert not fincore_signature_valid(body, header, "whsec_other")
    assert not fincore_signature_valid(body + b" ", header, "whsec_new")
    stale = signing.signature_header(secrets=["whsec_new"], timestamp=now - 301, body=body)
    assert not fincore_signature_valid(body, stale, "whsec_new")
    assert not fincore_signature_valid(body, f"t={now},t={now}," + header.split(",", 1)[1], "whsec_new")
    assert not fincore_signature_valid(body, "garbage", "whsec_new")


def test_the_secret_is_hmac_sha256_of_endpoint_and_generation_under_the_master_key():
    secret = signing.endpoint_secret(master_key="master", endpoint_id=ENDPOINT_ID, generation=2)
    expected = hmac.new(b"master", f"{ENDPOINT_ID}:2".encode(), hashlib.sha256).hexdigest()
    assert secret == f"whsec_{expected}"
    assert len(secret) == 6 + 64


def test_secrets_differ_by_generation_endpoint_and_master_key():
    secrets = {
        signing.endpoint_secret(master_key=key, endpoint_id=endpoint, generation=generation)
        for key in ("a", "b") for endpoint in (ENDPOINT_ID, uuid.uuid4()) for generation in (1, 2)
    }
    assert len(secrets) == 8
    with pytest.raises(ValueError):
        signing.endpoint_secret(master_key="a", endpoint_id=ENDPOINT_ID, generation=0)


def test_the_signature_header_signs_timestamp_dot_raw_body():
    body = b'{"id":"evt_1","type":"payment.succeeded"}'
    header = signing.signature_header(secrets=["whsec_abc"], timestamp=1772355600, body=body)
    expected = hmac.new(b"whsec_abc", b"1772355600." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1772355600,v1={expected}"
    assert readme_verify(header=header, raw_body=body, secret="whsec_abc", now=1772355600)
    assert signing.signature_verify(header=header, body=body, secret="whsec_abc", now=1772355600)


def test_a_changed_body_a_wrong_secret_or_an_old_timestamp_fails_verification():
    body = b'{"amount":12500}'
    header = signing.signature_header(secrets=["whsec_abc"], timestamp=1000, body=body)
    assert not readme_verify(header=header, raw_body=b'{"amount":12501}', secret="whsec_abc", now=1000)
    assert not readme_verify(header=header, raw_body=body, secret="whsec_abd", now=1000)
    assert not readme_verify(header=header, raw_body=body, secret="whsec_abc", now=1301)
    # Re-serialising the parsed JSON is not the raw body: a receiver must verify the bytes it got.
    assert not readme_verify(header=header, raw_body=b'{"amount": 12500}', secret="whsec_abc", now=1000)
    assert not signing.signature_verify(header="v1=deadbeef", body=body, secret="whsec_abc", now=1000)


def test_during_an_overlap_there_is_one_v1_per_secret_and_either_secret_verifies():
    body = b"{}"
    header = signing.signature_header(secrets=["whsec_new", "whsec_old"], timestamp=5, body=body)
    assert header.count("v1=") == 2
    assert readme_verify(header=header, raw_body=body, secret="whsec_new", now=5)
    assert readme_verify(header=header, raw_body=body, secret="whsec_old", now=5)
    assert not readme_verify(header=header, raw_body=body, secret="whsec_other", now=5)


# --- endpoints' secrets --------------------------------------------------------------------------

@pytest.mark.django_db
@override_settings(FINCORE_WEBHOOK_KEY="test-master-key")
def test_the_secret_shown_at_creation_is_derived_from_the_endpoint_and_stored_nowhere():
    issued = endpoint_create(MerchantFactory())
    endpoint = issued.endpoint
    assert issued.secret == signing.endpoint_secret(
        master_key="test-master-key", endpoint_id=endpoint.id, generation=1
    )
    stored = WebhookEndpoint.objects.filter(pk=endpoint.pk).values().get()
    assert issued.secret not in str(stored)
    assert issued.secret[6:] not in str(stored)
    assert issued.secret not in str(list(AuditEvent.objects.values()))


@pytest.mark.django_db
def test_rotation_keeps_the_previous_secret_valid_for_its_overlap_then_only_the_new_one(time_machine):
    time_machine.move_to(T0, tick=False)
    issued = endpoint_create(MerchantFactory())
    first = issued.secret

    rotated = endpoints.webhook_endpoint_rotate_secret(endpoint_id=issued.endpoint.pk, actor=STAFF)
    endpoint = rotated.endpoint
    assert rotated.secret != first
    assert (endpoint.secret_generation, endpoint.previous_secret_generation) == (2, 1)
    assert endpoint.previous_secret_expires_at == T0 + timedelta(hours=24)
    assert endpoints.webhook_endpoint_signing_secrets(endpoint=endpoint, at=T0) == [rotated.secret, first]
    assert endpoints.webhook_endpoint_signing_secrets(endpoint=endpoint, at=T0 + timedelta(hours=23, minutes=59)) == [
        rotated.secret, first
    ]
    assert endpoints.webhook_endpoint_signing_secrets(endpoint=endpoint, at=T0 + timedelta(hours=24)) == [
        rotated.secret
    ]
    audit = AuditEvent.objects.get(action="webhook_endpoint.secret_rotated")
    assert audit.before == {"secret_generation": 1}
    assert audit.after["secret_generation"] == 2


@pytest.mark.django_db
def test_rotating_twice_keeps_only_the_latest_previous_secret(time_machine):
    time_machine.move_to(T0, tick=False)
    issued = endpoint_create(MerchantFactory())
    second = endpoints.webhook_endpoint_rotate_secret(endpoint_id=issued.endpoint.pk, actor=STAFF,
                                                      expires_in=timedelta(days=7))
    third = endpoints.webhook_endpoint_rotate_secret(endpoint_id=issued.endpoint.pk, actor=STAFF,
                                                     expires_in=timedelta(hours=1))
    assert endpoints.webhook_endpoint_signing_secrets(endpoint=third.endpoint, at=T0) == [third.secret, second.secret]


@pytest.mark.django_db
def test_rotation_with_no_overlap_ends_the_old_secret_at_once_and_the_overlap_is_bounded(time_machine):
    time_machine.move_to(T0, tick=False)
    issued = endpoint_create(MerchantFactory())
    rotated = endpoints.webhook_endpoint_rotate_secret(endpoint_id=issued.endpoint.pk, actor=STAFF,
                                                       expires_in=timedelta(0))
    assert endpoints.webhook_endpoint_signing_secrets(endpoint=rotated.endpoint, at=T0) == [rotated.secret]
    with pytest.raises(endpoints.InvalidSecretRotation):
        endpoints.webhook_endpoint_rotate_secret(endpoint_id=issued.endpoint.pk, actor=STAFF,
                                                 expires_in=timedelta(days=7, seconds=1))
    assert WebhookEndpoint.objects.get(pk=issued.endpoint.pk).secret_generation == 2
