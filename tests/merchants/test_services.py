"""Merchant and API key services: validation, journaling, and refusals that change nothing."""

import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction

from apps.audit.models import AuditEvent
from apps.core.actors import Actor
from apps.merchants import services
from apps.merchants.models import ApiKey, Merchant
from tests.factories.merchants import MerchantFactory, api_key_of
from tests.support.time_travel import a_day_ahead

pytestmark = pytest.mark.django_db

T0 = a_day_ahead()  # later than the rows fixtures write at the present


class _StaffUser:
    pk = 7

    def get_username(self) -> str:
        return "officer"


STAFF = Actor.staff(_StaffUser())


def _create(**overrides: object) -> Merchant:
    fields = {"legal_name": "Gulf Coffee W.L.L.", "country": "BH", "currencies": ["BHD"], "actor": STAFF}
    return services.merchant_create(**{**fields, **overrides})


# --- merchant_create -----------------------------------------------------------------------


def test_merchant_create_writes_the_merchant_and_its_audit_event():
    with time_machine.travel(T0, tick=False):
        merchant = _create(
            legal_name="  Gulf Coffee W.L.L. ", currencies=["BHD", "USD"], rate_limit="200/second", reason="onboarded"
        )

    merchant.refresh_from_db()
    assert (merchant.legal_name, merchant.country, merchant.currencies, merchant.rate_limit, merchant.status) == (
        "Gulf Coffee W.L.L.", "BH", ["BHD", "USD"], "200/second", "active"
    )
    assert merchant.created_at == T0
    event = AuditEvent.objects.get()
    assert event.action == "merchant.created"
    assert (event.actor_type, event.actor_id, event.actor_label) == ("staff", "7", "officer")
    assert (event.object_type, event.object_id, event.merchant_id) == (
        "merchants.merchant", str(merchant.pk), str(merchant.pk)
    )
    assert event.before is None
    assert event.after == {
        "legal_name": "Gulf Coffee W.L.L.",
        "country": "BH",
        "status": "active",
        "currencies": ["BHD", "USD"],
        "rate_limit": "200/second",
    }
    assert event.reason == "onboarded"
    assert event.occurred_at == T0


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"country": "XX"}, "'XX' is not an ISO 3166 country code"),
        ({"country": "bh"}, "'bh' is not an ISO 3166 country code"),
        ({"country": "BHR"}, "'BHR' is not an ISO 3166 country code"),
        ({"currencies": ["XYZ"]}, "'XYZ' is not an ISO 4217 currency code"),
        ({"currencies": ["bhd"]}, "'bhd' is not an ISO 4217 currency code"),
        ({"currencies": ["XAU"]}, "'XAU' is not an ISO 4217 currency code"),
        ({"currencies": ["BHD", "USD", "BHD"]}, "a currency is listed twice"),
        ({"currencies": []}, "at least one currency is needed"),
        ({"legal_name": "   "}, "the legal name is empty"),
        ({"rate_limit": "fast"}, "'fast' is not a rate like '100/second' or '5000/hour'"),
        ({"rate_limit": "0/second"}, "'0/second' is not a rate like '100/second' or '5000/hour'"),
        ({"rate_limit": "10/fortnight"}, "'10/fortnight' is not a rate like '100/second' or '5000/hour'"),
        ({"rate_limit": "-1/second"}, "'-1/second' is not a rate like '100/second' or '5000/hour'"),
        (
            {"country": "ZZ", "currencies": ["USD", "ABC"], "rate_limit": "x"},
            "'ZZ' is not an ISO 3166 country code; 'ABC' is not an ISO 4217 currency code; "
            "'x' is not a rate like '100/second' or '5000/hour'",
        ),
    ],
)
def test_merchant_create_refuses_invalid_details_and_writes_nothing(fields, detail):
    with pytest.raises(services.InvalidMerchant) as refused:
        _create(**fields)

    assert refused.value.detail == detail
    assert refused.value.status == 400
    assert not Merchant.objects.exists()
    assert not AuditEvent.objects.exists()


# --- merchant_update -----------------------------------------------------------------------


def test_merchant_update_journals_only_what_changed():
    merchant = _create()

    updated = services.merchant_update(
        merchant_id=merchant.pk,
        changes={"legal_name": "Gulf Coffee Holding W.L.L.", "currencies": ["BHD"], "rate_limit": "50/second"},
        actor=STAFF,
        reason="new trade licence",
    )

    assert (updated.legal_name, updated.rate_limit) == ("Gulf Coffee Holding W.L.L.", "50/second")
    event = AuditEvent.objects.get(action="merchant.updated")
    assert event.before == {"legal_name": "Gulf Coffee W.L.L.", "rate_limit": ""}
    assert event.after == {"legal_name": "Gulf Coffee Holding W.L.L.", "rate_limit": "50/second"}
    assert event.reason == "new trade licence"


def test_merchant_update_without_a_change_journals_nothing():
    merchant = _create()

    services.merchant_update(merchant_id=merchant.pk, changes={"country": "BH"}, actor=STAFF, reason="checked")

    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["merchant.created"]


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"status": "suspended"}, "these fields cannot be edited: status"),
        ({"id": "x", "created_at": None}, "these fields cannot be edited: created_at, id"),
        ({"currencies": ["BHD", "BHD"]}, "a currency is listed twice"),
        ({"rate_limit": "lots"}, "'lots' is not a rate like '100/second' or '5000/hour'"),
    ],
)
def test_merchant_update_refuses_and_changes_nothing(changes, detail):
    merchant = _create()
    before = Merchant.objects.values().get(pk=merchant.pk)

    with pytest.raises(services.InvalidMerchant) as refused:
        services.merchant_update(merchant_id=merchant.pk, changes=changes, actor=STAFF, reason="r")

    assert refused.value.detail == detail
    assert Merchant.objects.values().get(pk=merchant.pk) == before
    assert AuditEvent.objects.count() == 1


# --- suspend / activate --------------------------------------------------------------------


def test_suspend_then_activate_are_journaled_with_the_reason():
    merchant = _create()

    suspended = services.merchant_suspend(merchant_id=merchant.pk, actor=STAFF, reason="KYC review")
    activated = services.merchant_activate(merchant_id=merchant.pk, actor=STAFF, reason="KYC passed")

    assert (suspended.status, activated.status) == ("suspended", "active")
    merchant.refresh_from_db()
    assert merchant.status == "active"
    events = list(
        AuditEvent.objects.exclude(action="merchant.created")
        .order_by("id")
        .values_list("action", "before", "after", "reason", "actor_type", "object_id")
    )
    assert events == [
        ("merchant.suspended", {"status": "active"}, {"status": "suspended"}, "KYC review", "staff", str(merchant.pk)),
        ("merchant.activated", {"status": "suspended"}, {"status": "active"}, "KYC passed", "staff", str(merchant.pk)),
    ]


def test_suspending_a_suspended_merchant_is_refused_and_changes_nothing():
    merchant = _create()
    services.merchant_suspend(merchant_id=merchant.pk, actor=STAFF, reason="KYC review")
    before = Merchant.objects.values().get(pk=merchant.pk)

    with pytest.raises(services.MerchantStatusUnchanged) as refused:
        services.merchant_suspend(merchant_id=merchant.pk, actor=STAFF, reason="again")

    assert refused.value.detail == "Gulf Coffee W.L.L. is already suspended."
    assert refused.value.code == "merchant_status_unchanged"
    assert Merchant.objects.values().get(pk=merchant.pk) == before
    assert AuditEvent.objects.filter(action="merchant.suspended").count() == 1


def test_activating_an_active_merchant_is_refused():
    merchant = _create()

    with pytest.raises(services.MerchantStatusUnchanged, match="is already active"):
        services.merchant_activate(merchant_id=merchant.pk, actor=STAFF, reason="r")

    assert AuditEvent.objects.filter(action="merchant.activated").count() == 0


# --- api_key_create ------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "prefix"), [("test", "fc_test_"), ("live", "fc_live_")])
def test_api_key_create_shows_the_secret_once_and_stores_its_hash(mode, prefix):
    merchant = _create()

    issued = services.api_key_create(merchant_id=merchant.pk, name=" till 3 ", mode=mode, actor=STAFF, reason="new")

    assert re.fullmatch(rf"{prefix}[A-Za-z0-9]{{43}}", issued.secret)
    api_key = ApiKey.objects.get()
    assert api_key == issued.api_key
    assert api_key.secret_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert api_key.secret_hash != issued.secret
    assert api_key.hint == issued.secret[:12]
    assert (api_key.name, api_key.mode, api_key.created_by) == ("till 3", mode, "officer")
    assert (api_key.revoked_at, api_key.last_used_at) == (None, None)
    event = AuditEvent.objects.get(action="api_key.created")
    assert event.after == {"name": "till 3", "mode": mode, "hint": issued.secret[:12]}
    assert (event.object_id, event.merchant_id, event.reason) == (str(api_key.pk), str(merchant.pk), "new")
    # The secret itself is nowhere in the journal.
    journal = list(AuditEvent.objects.values_list("before", "after", "reason", "actor_label"))
    assert issued.secret not in repr(journal)


def test_every_secret_is_different():
    merchant = _create()

    secrets = {
        services.api_key_create(merchant_id=merchant.pk, name="k", mode="test", actor=STAFF).secret for _ in range(20)
    }

    assert len(secrets) == 20


def test_a_blank_key_name_gets_a_default():
    merchant = _create()

    issued = services.api_key_create(merchant_id=merchant.pk, name="  ", mode="test", actor=STAFF)

    assert issued.api_key.name == "API key"


def test_api_key_create_refuses_an_unknown_mode_and_writes_nothing():
    merchant = _create()

    with pytest.raises(services.InvalidMerchant) as refused:
        services.api_key_create(merchant_id=merchant.pk, name="k", mode="prod", actor=STAFF)

    assert refused.value.detail == "mode must be test or live, not 'prod'"
    assert not ApiKey.objects.exists()
    assert AuditEvent.objects.count() == 1


# --- api_key_revoke ------------------------------------------------------------------------


def test_revoking_twice_is_refused_and_journaled_once():
    merchant = _create()
    api_key = services.api_key_create(merchant_id=merchant.pk, name="k", mode="test", actor=STAFF).api_key
    with time_machine.travel(T0, tick=False):
        services.api_key_revoke(api_key_id=api_key.pk, actor=STAFF, reason="leaked")

    with pytest.raises(services.ApiKeyAlreadyRevoked) as refused:
        services.api_key_revoke(api_key_id=api_key.pk, actor=STAFF, reason="again")

    assert refused.value.detail == f"{api_key.hint}… (k) was revoked on {T0:%Y-%m-%d %H:%M} UTC."
    api_key.refresh_from_db()
    assert (api_key.revoked_at, api_key.revoked_by, api_key.revoke_reason) == (T0, "officer", "leaked")
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


@pytest.mark.parametrize("reason", ["", "   "])
def test_revoking_needs_a_reason(reason):
    merchant = _create()
    api_key = services.api_key_create(merchant_id=merchant.pk, name="k", mode="test", actor=STAFF).api_key

    with pytest.raises(services.InvalidMerchant, match="a reason is required to revoke a key"):
        services.api_key_revoke(api_key_id=api_key.pk, actor=STAFF, reason=reason)

    api_key.refresh_from_db()
    assert api_key.revoked_at is None
    assert not AuditEvent.objects.filter(action="api_key.revoked").exists()


def test_revoking_scoped_to_another_merchant_finds_nothing():
    merchant, other = _create(), _create(legal_name="Other")
    api_key = services.api_key_create(merchant_id=merchant.pk, name="k", mode="test", actor=STAFF).api_key

    with pytest.raises(ApiKey.DoesNotExist):
        services.api_key_revoke(api_key_id=api_key.pk, merchant_id=other.pk, actor=STAFF, reason="r")

    api_key.refresh_from_db()
    assert api_key.revoked_at is None


@pytest.mark.parametrize(("mode", "livemode"), [("live", False), ("test", True)])
def test_revoking_scoped_to_the_other_mode_finds_nothing(mode, livemode):
    merchant = _create()
    api_key = services.api_key_create(merchant_id=merchant.pk, name="k", mode=mode, actor=STAFF).api_key

    with pytest.raises(ApiKey.DoesNotExist):
        services.api_key_revoke(api_key_id=api_key.pk, merchant_id=merchant.pk, livemode=livemode, actor=STAFF,
                                reason="r")

    api_key.refresh_from_db()
    assert api_key.revoked_at is None
    assert not AuditEvent.objects.filter(action="api_key.revoked").exists()


def test_mark_used_writes_at_most_once_a_minute(django_assert_num_queries):
    merchant = MerchantFactory()
    api_key = services.api_key_create(merchant_id=merchant.pk, name="k", mode="test", actor=STAFF).api_key

    with time_machine.travel(T0, tick=False), django_assert_num_queries(1):
        services.api_key_mark_used(api_key=api_key)
    with time_machine.travel(T0 + timedelta(seconds=60), tick=False), django_assert_num_queries(0):
        services.api_key_mark_used(api_key=api_key)
    with time_machine.travel(T0 + timedelta(seconds=60, microseconds=1), tick=False), django_assert_num_queries(1):
        services.api_key_mark_used(api_key=api_key)

    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == T0 + timedelta(seconds=60, microseconds=1)


# --- the database keeps the invariants even past the services -------------------------------


@pytest.mark.parametrize(
    "fields",
    [{"country": "bh"}, {"status": "closed"}, {"currencies": []}],
)
def test_the_database_refuses_an_invalid_merchant(fields):
    values = {"legal_name": "Raw SQL Ltd", "country": "BH", "currencies": ["BHD"], **fields}

    with pytest.raises(IntegrityError), transaction.atomic():
        Merchant.objects.create(**values)


def test_the_database_refuses_a_revocation_without_a_reason():
    merchant = MerchantFactory()
    issued = services.api_key_create(merchant_id=merchant.pk, name="k", mode="test", actor=STAFF)

    with pytest.raises(IntegrityError), transaction.atomic():
        ApiKey.objects.filter(pk=issued.api_key.pk).update(revoked_at=T0)

    assert api_key_of(issued.secret).revoked_at is None


def test_the_factory_goes_through_the_service():
    merchant = MerchantFactory(currencies=["USD"])

    assert merchant.currencies == ["USD"]
    assert AuditEvent.objects.get().action == "merchant.created"


def test_onboarding_creates_the_merchant_and_its_first_key_together():
    merchant, issued = services.merchant_onboard(
        legal_name="Gulf Pearl Trading", country="BH", currencies=["BHD"], key_mode="live", actor=Actor.system("test")
    )
    assert issued.api_key.merchant_id == merchant.pk
    assert issued.secret.startswith("fc_live_")
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "merchant.created", "api_key.created"
    ]


def test_onboarding_writes_nothing_when_the_key_cannot_be_issued():
    with pytest.raises(services.InvalidMerchant, match="mode must be test or live"):
        services.merchant_onboard(
            legal_name="Gulf Pearl Trading", country="BH", currencies=["BHD"], key_mode="prod",
            actor=Actor.system("test"),
        )
    assert not Merchant.objects.exists()
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.exists()
