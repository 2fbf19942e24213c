"""The merchants admin: every change asks why, goes through a service and is journaled."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.compliance import services as compliance_services
from apps.compliance.models import ApprovalRequest
from apps.core import ids
from apps.merchants import services
from apps.merchants.models import ApiKey, Merchant
from tests.core.api.assertions import assert_problem
from tests.factories.merchants import FACTORY_ACTOR, MerchantFactory, api_key_issue, api_key_of, authenticated_client
from tests.factories.staff import SUPERVISOR, signed_in_client, staff_user, totp_code

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/merchants/merchant/"
KEY_CHANGELIST = "/admin/merchants/apikey/"


def _change_url(merchant: Merchant) -> str:
    return f"/admin/merchants/merchant/{merchant.pk}/change/"


def _form_data(page) -> dict[str, object]:
    """What the browser would post back from an admin add/change page, unchanged."""
    data: dict[str, object] = {}
    for field in page.context["adminform"].form:
        if field.value() is not None:
            data[field.html_name] = field.value()
    for inline in page.context["inline_admin_formsets"]:
        for field in inline.formset.management_form:
            data[field.html_name] = field.value()
        for form in inline.formset.forms:
            for field in form:
                if field.value() is not None:
                    data[field.html_name] = field.value()
    return data


def _errors(page) -> list[str]:
    form = page.context["adminform"].form
    return [f"{name}: {message}" for name, messages in form.errors.items() for message in messages]


def _journal(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- pages ------------------------------------------------------------------------------


def _changelist_queries(admin_client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(CHANGELIST).status_code == 200
    return len(queries)


def test_the_changelist_costs_the_same_queries_for_3_or_30_merchants(admin_client, django_assert_max_num_queries):
    for _ in range(3):
        MerchantFactory()
    with_3 = _changelist_queries(admin_client)
    for _ in range(27):
        MerchantFactory()

    with django_assert_max_num_queries(with_3):
        page = admin_client.get(CHANGELIST)

    assert page.status_code == 200
    assert with_3 <= 8
    assert len(page.context["cl"].result_list) == 30


def test_the_changelist_finds_a_merchant_by_its_public_id(admin_client):
    wanted, _other = MerchantFactory(), MerchantFactory()

    page = admin_client.get(CHANGELIST, {"q": ids.encode("mer", wanted.pk)})

    assert list(page.context["cl"].result_list) == [wanted]


def test_the_change_page_shows_the_keys_in_constant_queries(admin_client, merchant, django_assert_max_num_queries):
    for number in range(10):
        api_key_issue(merchant, name=f"till {number}")
    admin_client.get(_change_url(merchant))  # session and permissions warmed up

    with django_assert_max_num_queries(12):
        page = admin_client.get(_change_url(merchant))

    assert page.status_code == 200
    html = page.content.decode()
    assert ids.encode("mer", merchant.pk) in html
    assert "till 9" in html
    assert f"/admin/merchants/merchant/{merchant.pk}/issue-key/" in html


# --- editing ------------------------------------------------------------------------------


def test_an_edit_without_a_reason_is_refused_and_changes_nothing(admin_client, merchant):
    before = Merchant.objects.values().get(pk=merchant.pk)
    events = AuditEvent.objects.count()
    data = {**_form_data(admin_client.get(_change_url(merchant))), "legal_name": "Renamed W.L.L."}
    data.pop("change_reason", None)

    page = admin_client.post(_change_url(merchant), data)

    assert page.status_code == 200
    assert _errors(page) == ["change_reason: This field is required."]
    assert Merchant.objects.values().get(pk=merchant.pk) == before
    assert AuditEvent.objects.count() == events


def test_an_edit_with_a_reason_is_saved_and_journaled(admin_client, admin_user, merchant):
    legal_name_before = merchant.legal_name
    data = {
        **_form_data(admin_client.get(_change_url(merchant))),
        "legal_name": "Renamed W.L.L.",
        "currencies": "BHD,USD",
        "change_reason": "new trade licence CR-1234",
    }

    response = admin_client.post(_change_url(merchant), data)

    assert response.status_code == 302
    merchant.refresh_from_db()
    assert (merchant.legal_name, merchant.currencies) == ("Renamed W.L.L.", ["BHD", "USD"])
    [event] = _journal("merchant.updated")
    assert (event.actor_type, event.actor_id, event.actor_label) == ("staff", str(admin_user.pk), "admin")
    assert event.reason == "new trade licence CR-1234"
    assert event.before == {"legal_name": legal_name_before, "currencies": ["BHD"]}
    assert event.after == {"legal_name": "Renamed W.L.L.", "currencies": ["BHD", "USD"]}


def test_an_invalid_edit_is_a_form_error(admin_client, merchant):
    before = Merchant.objects.values().get(pk=merchant.pk)
    data = {
        **_form_data(admin_client.get(_change_url(merchant))),
        "currencies": "BHD,XYZ",
        "rate_limit": "lots",
        "change_reason": "typo",
    }

    page = admin_client.post(_change_url(merchant), data)

    assert page.status_code == 200
    assert _errors(page) == [
        "__all__: 'XYZ' is not an ISO 4217 currency code; 'lots' is not a rate like '100/second' or '5000/hour'"
    ]
    assert Merchant.objects.values().get(pk=merchant.pk) == before
    assert not _journal("merchant.updated")


def test_a_rate_limit_set_in_the_admin_throttles_the_api(admin_client, merchant, merchant_client):
    data = {**_form_data(admin_client.get(_change_url(merchant))), "rate_limit": "3/second", "change_reason": "abuse"}
    assert admin_client.post(_change_url(merchant), data).status_code == 302

    statuses = [merchant_client.get("/api/v1/merchant").status_code for _ in range(3)]
    refused = merchant_client.get("/api/v1/merchant")

    assert statuses == [200, 200, 200]
    assert_problem(refused, status=429, code="rate_limited")
    assert refused["Retry-After"] == "1"


def test_adding_a_merchant_goes_through_the_service(admin_client, admin_user):
    data = {
        **_form_data(admin_client.get("/admin/merchants/merchant/add/")),
        "legal_name": "New Shop S.P.C.",
        "country": "BH",
        "currencies": "BHD",
        "change_reason": "signed contract 2026-017",
    }

    response = admin_client.post("/admin/merchants/merchant/add/", data)

    assert response.status_code == 302
    merchant = Merchant.objects.get()
    assert (merchant.legal_name, merchant.status, merchant.currencies) == ("New Shop S.P.C.", "active", ["BHD"])
    [event] = _journal("merchant.created")
    assert (event.object_id, event.actor_type, event.actor_label) == (str(merchant.pk), "staff", "admin")
    assert event.reason == "signed contract 2026-017"


# --- suspend / activate -------------------------------------------------------------------


def _action(admin_client, url: str, action: str, objects: list, **extra: str):
    return admin_client.post(url, {"action": action, "_selected_action": [obj.pk for obj in objects], **extra})


def _approve_pending(action: str) -> ApprovalRequest:
    """A Compliance supervisor approves the one pending request for ``action``, with a fresh code."""
    checker = staff_user(SUPERVISOR, username="sara")
    [request] = ApprovalRequest.objects.filter(action=action, state="pending")
    return compliance_services.approval_request_approve(request_id=request.pk, user=checker,
                                                        otp_token=totp_code(checker))


def test_suspend_asks_for_a_reason_then_requests_a_suspension_a_checker_approves(
        admin_client, admin_user, merchant, merchant_client):
    confirmation = _action(admin_client, CHANGELIST, "suspend", [merchant], index="0")

    assert confirmation.status_code == 200
    assert confirmation.templates[0].name == "admin/fincore/reasoned_action.html"
    html = confirmation.content.decode()
    assert merchant.legal_name in html
    assert 'name="change_reason"' in html
    assert not ApprovalRequest.objects.exists()

    without_reason = _action(admin_client, CHANGELIST, "suspend", [merchant], apply="1", change_reason="")
    assert without_reason.status_code == 200
    assert without_reason.context["form"].errors == {"change_reason": ["This field is required."]}
    assert not ApprovalRequest.objects.exists()

    done = _action(admin_client, CHANGELIST, "suspend", [merchant], apply="1", change_reason="chargeback spike")

    assert done.status_code == 302
    merchant.refresh_from_db()
    assert merchant.status == "active"
    assert not _journal("merchant.suspended")
    [request] = ApprovalRequest.objects.all()
    assert (request.action, request.arguments, request.maker, request.reason) == (
        "merchants.suspend", {"merchant_id": str(merchant.pk)}, admin_user, "chargeback spike")

    assert _approve_pending("merchants.suspend").state == "executed"

    merchant.refresh_from_db()
    assert merchant.status == "suspended"
    [event] = _journal("merchant.suspended")
    assert (event.actor_type, event.actor_label, event.reason) == ("staff", "admin, approved by sara",
                                                                   "chargeback spike")
    assert_problem(merchant_client.get("/api/v1/merchant"), status=403, code="merchant_suspended")


def test_a_refusal_for_one_merchant_does_not_stop_the_others(admin_client):
    already, active = MerchantFactory(), MerchantFactory()
    services.merchant_suspend(merchant_id=already.pk, actor=FACTORY_ACTOR, reason="earlier")

    response = _action(admin_client, CHANGELIST, "suspend", [already, active], apply="1", change_reason="sweep")
    messages = [str(message) for message in admin_client.get(response["Location"]).context["messages"]]

    assert messages == [
        f"{already.legal_name}: {already.legal_name} is already suspended.",
        "Request suspension (refuse all API access): done for 1 of 2.",
    ]
    assert list(ApprovalRequest.objects.values_list("target_id", flat=True)) == [str(active.pk)]


def test_activate_is_requested_and_restores_api_access_once_approved(admin_client, merchant, merchant_client):
    services.merchant_suspend(merchant_id=merchant.pk, actor=FACTORY_ACTOR, reason="KYC review")

    response = _action(admin_client, CHANGELIST, "activate", [merchant], apply="1", change_reason="KYC passed")

    assert response.status_code == 302
    merchant.refresh_from_db()
    assert merchant.status == "suspended"
    _approve_pending("merchants.activate")
    merchant.refresh_from_db()
    assert merchant.status == "active"
    assert _journal("merchant.activated")[0].reason == "KYC passed"
    assert merchant_client.get("/api/v1/merchant").status_code == 200


def test_a_checker_only_role_is_not_offered_the_requests(merchant, secret):
    checker = signed_in_client(staff_user(SUPERVISOR))

    merchants, keys = checker.get(CHANGELIST), checker.get(KEY_CHANGELIST)

    assert (merchants.status_code, keys.status_code) == (200, 200)
    # No action is left to offer: the page has no action menu at all.
    assert (merchants.context["action_form"], keys.context["action_form"]) == (None, None)
    assert _action(checker, CHANGELIST, "suspend", [merchant], apply="1", change_reason="x").status_code == 200
    assert not ApprovalRequest.objects.exists()


# --- issuing a key -------------------------------------------------------------------------


def _issue_url(merchant: Merchant) -> str:
    return f"/admin/merchants/merchant/{merchant.pk}/issue-key/"


def test_issuing_a_key_shows_its_secret_once(admin_client, merchant):
    form_page = admin_client.get(_issue_url(merchant))
    assert form_page.status_code == 200

    shown = admin_client.post(
        _issue_url(merchant), {"name": "mobile app", "mode": "live", "change_reason": "merchant asked, ticket 881"}
    )

    assert shown.status_code == 200
    assert "no-store" in shown["Cache-Control"]
    secret = re.search(r'<code id="secret-key"[^>]*>(fc_live_[A-Za-z0-9]{43})</code>', shown.content.decode())[1]
    api_key = api_key_of(secret)
    assert (api_key.merchant_id, api_key.name, api_key.mode, api_key.created_by) == (
        merchant.pk, "mobile app", "live", "admin"
    )
    [event] = [e for e in _journal("api_key.created") if e.object_id == str(api_key.pk)]
    assert (event.actor_type, event.reason) == ("staff", "merchant asked, ticket 881")
    assert authenticated_client(secret).get("/api/v1/merchant").json()["livemode"] is True
    # Never shown again: not on the merchant's page, not on the key's.
    assert secret not in admin_client.get(_change_url(merchant)).content.decode()
    assert secret not in admin_client.get(f"{KEY_CHANGELIST}{api_key.pk}/change/").content.decode()


def test_issuing_a_key_without_a_reason_issues_nothing(admin_client, merchant):
    keys = ApiKey.objects.count()

    page = admin_client.post(_issue_url(merchant), {"name": "mobile app", "mode": "live"})

    assert page.status_code == 200
    assert page.context["form"].errors == {"change_reason": ["This field is required."]}
    assert "secret-key" not in page.content.decode()
    assert ApiKey.objects.count() == keys


def test_issuing_a_key_for_an_unknown_merchant_is_404(admin_client):
    assert admin_client.get(f"/admin/merchants/merchant/{ids.uuid7()}/issue-key/").status_code == 404
    assert admin_client.get("/admin/merchants/merchant/not-a-uuid/issue-key/").status_code == 404


# --- API keys ------------------------------------------------------------------------------


def test_the_key_changelist_costs_constant_queries(admin_client, merchant, django_assert_max_num_queries):
    for number in range(20):
        api_key_issue(MerchantFactory() if number % 2 else merchant, name=f"k{number}")
    admin_client.get(KEY_CHANGELIST)

    with django_assert_max_num_queries(8):
        page = admin_client.get(KEY_CHANGELIST)

    assert page.status_code == 200
    assert len(page.context["cl"].result_list) == 21


def test_revoking_a_key_in_the_admin_is_requested_then_approved(admin_client, secret, merchant_client):
    api_key = api_key_of(secret)

    confirmation = _action(admin_client, KEY_CHANGELIST, "revoke", [api_key], index="0")
    assert confirmation.status_code == 200
    assert str(api_key) in confirmation.content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked_at is None

    done = _action(admin_client, KEY_CHANGELIST, "revoke", [api_key], apply="1", change_reason="found on GitHub")

    assert done.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is None
    assert merchant_client.get("/api/v1/merchant").status_code == 200
    _approve_pending("merchants.api_key_revoke")
    api_key.refresh_from_db()
    assert (api_key.revoked_by, api_key.revoke_reason) == ("admin, approved by sara", "found on GitHub")
    [event] = _journal("api_key.revoked")
    assert (event.actor_type, event.reason) == ("staff", "found on GitHub")
    assert_problem(merchant_client.get("/api/v1/merchant"), status=401, code="api_key_revoked")


def test_keys_are_read_only_in_the_admin(admin_client, secret):
    api_key = api_key_of(secret)

    assert admin_client.get(f"{KEY_CHANGELIST}add/").status_code == 403
    page = admin_client.get(f"{KEY_CHANGELIST}{api_key.pk}/change/")
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    before = ApiKey.objects.values().get(pk=api_key.pk)
    assert admin_client.post(f"{KEY_CHANGELIST}{api_key.pk}/change/", {"name": "renamed"}).status_code == 403
    assert ApiKey.objects.values().get(pk=api_key.pk) == before


# --- nothing is deleted ---------------------------------------------------------------------


def test_the_admin_never_offers_delete(admin_client, merchant, secret):
    api_key = api_key_of(secret)

    merchant_actions = admin_client.get(CHANGELIST).context["action_form"].fields["action"].choices
    key_actions = admin_client.get(KEY_CHANGELIST).context["action_form"].fields["action"].choices

    assert [name for name, _label in merchant_actions if name] == ["suspend", "activate"]
    assert [name for name, _label in key_actions if name] == ["revoke"]
    assert admin_client.get(f"{CHANGELIST}{merchant.pk}/delete/").status_code == 403
    assert admin_client.post(f"{CHANGELIST}{merchant.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.get(f"{KEY_CHANGELIST}{api_key.pk}/delete/").status_code == 403
    assert "deletelink" not in admin_client.get(_change_url(merchant)).content.decode()
    assert Merchant.objects.filter(pk=merchant.pk).exists()
    assert ApiKey.objects.filter(pk=api_key.pk).exists()
