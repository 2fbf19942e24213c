"""The journal in the admin: readable by staff, writable by nobody, cheap to list."""

import pytest

from apps.audit.models import AuditEvent, AuditSeal
from apps.audit.services import audit_seal_pending
from apps.core import context
from tests.audit.support import columns, journal

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/audit/auditevent/"


def test_the_changelist_shows_events_and_whether_they_are_sealed(admin_client) -> None:
    sealed = journal(2, object_prefix="pay_sealed_")
    audit_seal_pending()
    journal(1, object_prefix="pay_pending_")

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    listed = {event.object_id: event for event in response.context["cl"].result_list}
    assert sorted(listed) == ["pay_pending_1", "pay_sealed_1", "pay_sealed_2"]
    admin = response.context["cl"].model_admin
    assert [admin.sealed(listed[object_id]) for object_id in sorted(listed)] == [False, True, True]
    assert sealed[0].object_id.encode() in response.content


def test_the_changelist_can_be_searched_by_request_id(admin_client) -> None:
    journal(3)
    with context.bound(request_id="req_find_me"):
        [wanted] = journal(1, object_prefix="pay_wanted_")

    response = admin_client.get(CHANGELIST, {"q": "req_find_me"})

    assert [event.pk for event in response.context["cl"].result_list] == [wanted.pk]


def test_the_detail_page_shows_the_place_in_the_chain(admin_client) -> None:
    [event] = journal(1)
    audit_seal_pending()
    seal = AuditSeal.objects.get()
    [pending] = journal(1, object_prefix="pay_pending_")

    response = admin_client.get(f"{CHANGELIST}{event.pk}/change/")
    awaiting = admin_client.get(f"{CHANGELIST}{pending.pk}/change/")

    assert response.status_code == awaiting.status_code == 200
    assert f"seal 1, hash {seal.hash}, sealed {seal.sealed_at:%Y-%m-%d %H:%M:%S}" in response.content.decode()
    assert "awaiting its seal" in awaiting.content.decode()
    assert b'name="_save"' not in response.content  # a view, not a form


def test_nobody_can_add_change_or_delete_an_event_in_the_admin(admin_client) -> None:
    [event] = journal(1)
    stored = columns("audit_auditevent", event.pk)
    forged = {"actor_type": "staff", "actor_id": "1", "actor_label": "admin", "action": "payout.approved",
              "object_type": "payments.payout", "object_id": "po_1", "signature": "f" * 64,
              "occurred_at_0": "2026-03-01", "occurred_at_1": "09:00:00"}

    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.post(f"{CHANGELIST}add/", forged).status_code == 403
    assert admin_client.post(f"{CHANGELIST}{event.pk}/change/", {**forged, "reason": "edited"}).status_code == 403
    assert admin_client.get(f"{CHANGELIST}{event.pk}/delete/").status_code == 403
    assert admin_client.post(f"{CHANGELIST}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk_delete = admin_client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [event.pk],
                                                  "post": "yes"})
    assert bulk_delete.status_code == 200  # no such action: the changelist is shown again

    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [event.pk]
    assert columns("audit_auditevent", event.pk) == stored


@pytest.mark.parametrize("sealed", [3, 60])
def test_listing_takes_the_same_few_queries_however_many_events(admin_client, django_assert_max_num_queries,
                                                                 sealed: int) -> None:
    journal(sealed)
    audit_seal_pending()
    journal(sealed, object_prefix="pay_pending_")

    # Session, user, a capped count, the page (events joined to their seals), the choices of the
    # action and staff member filters.
    with django_assert_max_num_queries(8):
        response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == min(2 * sealed, 100)
