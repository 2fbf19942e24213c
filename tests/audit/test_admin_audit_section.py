"""The Audit section: the journal searched by the ids staff see, filtered by date, action and
person, linked to from other pages by object; and auditlog's admin change log beside it."""

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from auditlog.models import LogEntry
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audit_seal_pending
from apps.core import ids
from apps.core.actors import Actor, ActorType
from tests.audit.support import COMPLIANCE, journal

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/audit/auditevent/"
BAHRAIN = ZoneInfo("Asia/Bahrain")
MERCHANT = uuid.UUID("0192f0a4-3b7c-7d21-8e4f-5a6b7c8d9e0f")
PAYMENT = uuid.UUID("0192f0a4-3b7c-7d21-8e4f-000000000001")
OTHER_PAYMENT = uuid.UUID("0192f0a4-3b7c-7d21-8e4f-000000000002")
ACCOUNT = uuid.UUID("0192f0a4-3b7c-7d21-8e4f-000000000003")


def _record(action: str, object_type: str, object_id: object, *, merchant_id: object = None,
            actor: Actor = COMPLIANCE) -> AuditEvent:
    return audit_record(actor=actor, action=action, object_type=object_type, object_id=str(object_id),
                        merchant_id=merchant_id)


def _listed(response) -> list[int]:
    assert response.status_code == 200, response
    return sorted(event.pk for event in response.context["cl"].result_list)


@pytest.fixture
def journal_of_a_merchant() -> dict[str, AuditEvent]:
    return {
        "merchant": _record("merchant.suspended", "merchants.merchant", MERCHANT),
        "payment": _record("payment.captured", "payments.payment", PAYMENT, merchant_id=MERCHANT),
        "other_payment": _record("payment.captured", "payments.payment", OTHER_PAYMENT),
        "refund": _record("refund.created", "payments.refund", uuid.UUID(int=PAYMENT.int + 10), merchant_id=MERCHANT),
        "account": _record("ledger.account_opened", "ledger.account", ACCOUNT),
        "attempt": _record("payment.attempt_unknown", "payments.paymentattempt", uuid.UUID(int=PAYMENT.int + 20)),
        "transfer": _record("ledger.adjustment_posted", "ledger.transfer", uuid.UUID(int=PAYMENT.int + 30)),
        # The webhook services journal the public id itself.
        "webhook_event": _record("webhook_event.redelivered", "events.webhookevent", ids.encode("evt", PAYMENT)),
        # The same UUID as the payment, but another kind of object: not the payment's history.
        "lookalike": _record("connector.updated", "routing.connector", PAYMENT),
    }


@pytest.mark.parametrize(("search", "found"), [
    (ids.encode("pay", PAYMENT), ["payment"]),
    (ids.encode("pay", PAYMENT).lower(), ["payment"]),
    (ids.encode("mer", MERCHANT), ["merchant", "payment", "refund"]),
    (ids.encode("acc", ACCOUNT), ["account"]),
    (ids.encode("evt", PAYMENT), ["webhook_event"]),
    (ids.encode("re", uuid.UUID(int=PAYMENT.int + 10)), ["refund"]),
    (f"  {ids.encode('pay', OTHER_PAYMENT)} ", ["other_payment"]),
    (str(PAYMENT), ["lookalike", "payment"]),  # an internal id: every object of that id
    (ids.encode("att", uuid.UUID(int=PAYMENT.int + 20)), ["attempt"]),
    (ids.encode("tr", uuid.UUID(int=PAYMENT.int + 30)), ["transfer"]),
    (ids.encode("tr", PAYMENT), []),
])
def test_the_journal_is_searched_by_the_ids_staff_see(compliance_client, journal_of_a_merchant, search: str,
                                                      found: list[str]) -> None:
    response = compliance_client.get(CHANGELIST, {"q": search})

    assert _listed(response) == sorted(journal_of_a_merchant[name].pk for name in found)


def test_a_malformed_public_id_is_searched_as_words(compliance_client, journal_of_a_merchant) -> None:
    suspended = compliance_client.get(CHANGELIST, {"q": "suspended"})
    malformed = compliance_client.get(CHANGELIST, {"q": "pay_NOT-AN-ID"})

    assert _listed(suspended) == [journal_of_a_merchant["merchant"].pk]
    assert _listed(malformed) == []


def test_the_changelist_shows_objects_and_merchants_by_their_public_ids(compliance_client,
                                                                       journal_of_a_merchant) -> None:
    response = compliance_client.get(CHANGELIST, {"q": ids.encode("mer", MERCHANT)})
    admin = response.context["cl"].model_admin
    payment, merchant = journal_of_a_merchant["payment"], journal_of_a_merchant["merchant"]
    lookalike = journal_of_a_merchant["lookalike"]

    assert admin.object(payment) == ids.encode("pay", PAYMENT)
    assert admin.merchant(payment) == ids.encode("mer", MERCHANT)
    assert (admin.object(merchant), admin.merchant(merchant)) == (ids.encode("mer", MERCHANT), "-")
    assert admin.object(journal_of_a_merchant["webhook_event"]) == ids.encode("evt", PAYMENT)
    assert admin.object(lookalike) == f"routing.connector {PAYMENT}"
    assert ids.encode("pay", PAYMENT) in response.content.decode()


def test_other_pages_link_to_an_objects_history_by_its_internal_id(compliance_client, journal_of_a_merchant) -> None:
    by_id = compliance_client.get(CHANGELIST, {"object_id": str(PAYMENT)})
    by_type_and_id = compliance_client.get(CHANGELIST, {"object_type": "payments.payment", "object_id": str(PAYMENT)})
    nothing = compliance_client.get(CHANGELIST, {"object_type": "payments.refund", "object_id": str(PAYMENT)})

    assert _listed(by_id) == sorted([journal_of_a_merchant["payment"].pk, journal_of_a_merchant["lookalike"].pk])
    assert _listed(by_type_and_id) == [journal_of_a_merchant["payment"].pk]
    assert _listed(nothing) == []


def test_the_journal_is_filtered_by_bahrain_days_both_included(staff_client) -> None:
    def at(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 3, day, hour, minute, tzinfo=BAHRAIN)

    written = {}
    with time_machine.travel(at(9, 23, 59), tick=False) as traveller:
        for moment in (at(9, 23, 59), at(10, 0), at(11, 23, 59), at(12, 0)):
            traveller.move_to(moment)
            [written[moment.strftime("%d %H:%M")]] = journal(1, object_prefix=f"pay_{moment:%d%H%M}_")
        compliance_client = staff_client("Compliance officer")

        between = compliance_client.get(CHANGELIST, {"occurred_at_from": "2026-03-10", "occurred_at_to": "2026-03-11"})
        since = compliance_client.get(CHANGELIST, {"occurred_at_from": "2026-03-11"})
        until = compliance_client.get(CHANGELIST, {"occurred_at_to": "2026-03-09"})
        wrong = compliance_client.get(CHANGELIST, {"occurred_at_from": "10/03/2026"})

    assert _listed(between) == [written["10 00:00"].pk, written["11 23:59"].pk]
    assert _listed(since) == [written["11 23:59"].pk, written["12 00:00"].pk]
    assert _listed(until) == [written["09 23:59"].pk]
    assert wrong.status_code == 302 and wrong["Location"].endswith("?e=1")
    page = between.content.decode()
    assert 'name="occurred_at_from" value="2026-03-10"' in page
    assert 'name="occurred_at_to" value="2026-03-11"' in page


def test_the_journal_is_filtered_by_action_and_by_staff_member(compliance_client) -> None:
    fatima = User.objects.create_user(username="fatima.officer", is_staff=True)
    ali = User.objects.create_user(username="ali.supervisor", is_staff=True)
    by_fatima = _record("merchant.suspended", "merchants.merchant", MERCHANT, actor=Actor.staff(fatima))
    by_ali = _record("merchant.reactivated", "merchants.merchant", MERCHANT, actor=Actor.staff(ali))
    by_a_job = _record("merchant.suspended", "merchants.merchant", MERCHANT,
                       actor=Actor(ActorType.SYSTEM, str(fatima.pk), "a job whose id looks like a user's"))

    everything = compliance_client.get(CHANGELIST)
    suspended = compliance_client.get(CHANGELIST, {"action": "merchant.suspended"})
    of_fatima = compliance_client.get(CHANGELIST, {"staff": str(fatima.pk)})

    filters = {spec.title: spec for spec in everything.context["cl"].filter_specs}
    assert filters["action"].lookup_choices == [("merchant.reactivated", "merchant.reactivated"),
                                                ("merchant.suspended", "merchant.suspended")]
    assert [label for _, label in filters["staff member"].lookup_choices] == [
        "ali.supervisor", "compliance.officer", "fatima.officer",
    ]
    assert _listed(suspended) == sorted([by_fatima.pk, by_a_job.pk])
    assert _listed(of_fatima) == [by_fatima.pk]
    assert by_ali.pk in _listed(everything)


@pytest.mark.parametrize("query", [
    {},
    {"q": ids.encode("mer", MERCHANT)},
    {"q": "payment"},
    {"object_type": "payments.payment", "object_id": str(PAYMENT)},
    {"occurred_at_from": "2026-01-01", "occurred_at_to": "2030-12-31", "action": "payment.captured",
     "actor_type": "staff"},
])
def test_the_changelist_takes_the_same_few_queries_however_long_the_journal(compliance_client, query) -> None:
    def queries_for(rows: int) -> int:
        for n in range(rows):
            _record("payment.captured", "payments.payment", uuid.UUID(int=PAYMENT.int + 100 + n),
                    merchant_id=MERCHANT)
            _record("payment.captured", "payments.payment", PAYMENT, merchant_id=MERCHANT)
        audit_seal_pending()
        with CaptureQueriesContext(connection) as captured:
            assert compliance_client.get(CHANGELIST, query).status_code == 200
        return len(captured)

    few, many = queries_for(3), queries_for(60)

    # Session, user, the verified TOTP device, the user's and the role's permissions, the actions (a
    # loose index scan), the staff members, a capped count, the page (events joined to their seals).
    assert few == many == 9


def test_the_audit_section_holds_the_journal_and_the_admin_change_log(staff_client) -> None:
    officer = staff_client("Compliance officer")
    treasury = staff_client("Treasury operator")

    index = officer.get("/admin/")

    [audit] = [app for app in index.context["app_list"] if app["app_label"] == "audit"]
    assert audit["name"] == "Audit"
    assert [model["name"] for model in audit["models"]] == [
        "Journal (business events, hash-chained)", "Admin change log (field by field, django-auditlog)"]
    assert not [app for app in index.context["app_list"] if app["app_label"] == "auditlog"]
    assert officer.get("/admin/auditlog/logentry/").status_code == 404
    assert officer.get("/admin/audit/adminchange/").status_code == 200
    assert treasury.get("/admin/audit/adminchange/").status_code == 403
    assert staff_client("Support (read-only)").get("/admin/audit/adminchange/").status_code == 200


def test_the_admin_change_log_lists_changes_made_in_the_admin_and_nobody_edits_them(admin_client) -> None:
    staff = User.objects.create_user(username="new.starter", is_staff=True)
    changed = admin_client.post(f"/admin/auth/user/{staff.pk}/change/", {
        "username": "new.starter", "is_active": "on", "is_staff": "on", "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00", "change_reason": "joined the compliance team",
    })
    assert changed.status_code == 302, changed.context["adminform"].form.errors if changed.context else changed
    entry = LogEntry.objects.get(object_pk=str(staff.pk), action=LogEntry.Action.UPDATE)

    response = admin_client.get("/admin/audit/adminchange/")

    assert response.status_code == 200
    assert [listed.pk for listed in response.context["cl"].result_list] == list(
        LogEntry.objects.order_by("-timestamp").values_list("pk", flat=True)
    )
    assert entry.pk in [listed.pk for listed in response.context["cl"].result_list]
    assert entry.additional_data == {"reason": "joined the compliance team"}
    assert admin_client.get(f"/admin/audit/adminchange/{entry.pk}/change/").status_code == 200
    assert admin_client.post(f"/admin/audit/adminchange/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()
