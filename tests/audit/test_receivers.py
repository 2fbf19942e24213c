"""django-auditlog through the admin: a reason is required, the entry records who and why, and
changes to models without a fincore service are journaled too (signed and sealed)."""

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django_celery_beat.models import PeriodicTask

from apps.audit.models import AuditEvent
from apps.audit.selectors import ChainReport, audit_chain_verify
from apps.audit.services import audit_seal_pending
from apps.audit.signing import event_signature
from apps.core.actors import Actor
from apps.merchants import services as merchants

pytestmark = pytest.mark.django_db

REASON_REQUIRED = {"change_reason": ["This field is required."]}


@pytest.fixture
def staff_user() -> User:
    return User.objects.create_user(
        "alice", email="alice@old.example", first_name="", last_name="Haddad", is_staff=True,
        date_joined="2026-01-05T06:00:00+00:00",
    )


def user_form(user: User, **changes: str) -> dict[str, str]:
    form = {
        "username": user.username, "first_name": user.first_name, "last_name": user.last_name, "email": user.email,
        "is_active": "on", "is_staff": "on", "date_joined_0": "2026-01-05", "date_joined_1": "09:00:00",
    }
    return {**form, **changes}


def entries_for(instance) -> list[LogEntry]:
    """auditlog's entries for changes a person made (the fixtures' own setup has no actor)."""
    return list(LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(instance), object_pk=str(instance.pk), actor__isnull=False
    ).order_by("pk"))


def test_editing_a_staff_user_without_a_reason_changes_nothing(admin_client, staff_user: User) -> None:
    response = admin_client.post(f"/admin/auth/user/{staff_user.pk}/change/",
                                 user_form(staff_user, email="alice@new.example"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == REASON_REQUIRED
    staff_user.refresh_from_db()
    assert staff_user.email == "alice@old.example"
    assert entries_for(staff_user) == []
    assert not AuditEvent.objects.exists()


def test_editing_a_staff_user_is_logged_with_its_reason_and_journaled(admin_client, admin_user: User,
                                                                      staff_user: User) -> None:
    response = admin_client.post(
        f"/admin/auth/user/{staff_user.pk}/change/",
        user_form(staff_user, email="alice@new.example", first_name="Alice", change_reason="ticket OPS-42"),
        REMOTE_ADDR="2001:db8::0:7",
    )

    assert response.status_code == 302
    staff_user.refresh_from_db()
    assert (staff_user.email, staff_user.first_name) == ("alice@new.example", "Alice")
    [entry] = entries_for(staff_user)
    assert (entry.action, entry.actor, entry.additional_data, entry.changes_dict) == (
        LogEntry.Action.UPDATE, admin_user, {"reason": "ticket OPS-42"},
        {"email": ["alice@old.example", "alice@new.example"], "first_name": ["", "Alice"]},
    )
    event = AuditEvent.objects.get()
    assert (
        event.actor_type, event.actor_id, event.actor_label, event.action, event.object_type, event.object_id,
        event.before, event.after, event.reason, event.request_id, event.ip, event.merchant_id,
    ) == (
        "staff", str(admin_user.pk), "admin", "admin.auth.user.updated", "auth.user", str(staff_user.pk),
        {"email": "alice@old.example", "first_name": ""}, {"email": "alice@new.example", "first_name": "Alice"},
        "ticket OPS-42", response["X-Request-Id"], "2001:db8::7", "",
    )
    assert event_signature(event) == event.signature
    assert audit_seal_pending() == 1
    assert audit_chain_verify() == ChainReport(sealed=1, pending=0, problem=None)


def test_an_ipv4_client_behind_a_dual_stack_listener_leaves_a_row_that_verifies(admin_client,
                                                                                 staff_user: User) -> None:
    response = admin_client.post(
        f"/admin/auth/user/{staff_user.pk}/change/",
        user_form(staff_user, last_name="Al Haddad", change_reason="name on passport"),
        REMOTE_ADDR="::ffff:192.0.2.10",
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get()
    assert event.ip == "::ffff:192.0.2.10"
    assert audit_chain_verify() == ChainReport(sealed=0, pending=1, problem=None)


def test_adding_a_staff_user_is_journaled_as_a_creation(admin_client, admin_user: User) -> None:
    response = admin_client.post(
        "/admin/auth/user/add/", {"username": "bilal", "usable_password": "false", "change_reason": "new hire"}
    )

    assert response.status_code == 302
    bilal = User.objects.get(username="bilal")
    [entry] = entries_for(bilal)
    assert (entry.action, entry.actor, entry.additional_data) == (
        LogEntry.Action.CREATE, admin_user, {"reason": "new hire"}
    )
    event = AuditEvent.objects.get()
    assert (event.action, event.object_id, event.before, event.reason) == (
        "admin.auth.user.created", str(bilal.pk), None, "new hire"
    )
    assert (event.after["username"], event.after["is_staff"], event.after["is_superuser"]) == (
        "bilal", "False", "False"
    )
    assert "password" not in event.after


def test_adding_a_staff_user_without_a_reason_creates_nobody(admin_client) -> None:
    response = admin_client.post("/admin/auth/user/add/", {"username": "bilal", "usable_password": "false"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == REASON_REQUIRED
    assert not User.objects.filter(username="bilal").exists()
    assert not AuditEvent.objects.exists()


def test_a_role_renamed_and_given_a_permission_is_journaled_twice(admin_client, admin_user: User) -> None:
    role = Group.objects.create(name="auditors")
    view_journal = Permission.objects.get(codename="view_auditevent")

    response = admin_client.post(
        f"/admin/auth/group/{role.pk}/change/",
        {"name": "internal auditors", "permissions": [view_journal.pk], "change_reason": "SOX review"},
    )

    assert response.status_code == 302
    role.refresh_from_db()
    assert (role.name, list(role.permissions.all())) == ("internal auditors", [view_journal])
    rename, grant = entries_for(role)
    assert (rename.actor, rename.additional_data, rename.changes_dict) == (
        admin_user, {"reason": "SOX review"}, {"name": ["auditors", "internal auditors"]}
    )
    assert (grant.actor, grant.additional_data) == (admin_user, {"reason": "SOX review"})
    renamed, granted = AuditEvent.objects.order_by("pk")
    assert (renamed.action, renamed.object_id, renamed.before, renamed.after, renamed.reason) == (
        "admin.auth.group.updated", str(role.pk), {"name": "auditors"}, {"name": "internal auditors"}, "SOX review"
    )
    assert (granted.action, granted.object_id, granted.before, granted.after, granted.reason) == (
        "admin.auth.group.updated", str(role.pk), None,
        {"permissions": {"type": "m2m", "operation": "add", "objects": [str(view_journal)]}}, "SOX review",
    )
    assert (granted.actor_type, granted.actor_id) == ("staff", str(admin_user.pk))


def test_editing_a_role_without_a_reason_changes_nothing(admin_client) -> None:
    role = Group.objects.create(name="auditors")
    view_journal = Permission.objects.get(codename="view_auditevent")

    response = admin_client.post(f"/admin/auth/group/{role.pk}/change/",
                                 {"name": "internal auditors", "permissions": [view_journal.pk]})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == REASON_REQUIRED
    role.refresh_from_db()
    assert (role.name, list(role.permissions.all())) == ("auditors", [])
    assert entries_for(role) == []
    assert not AuditEvent.objects.exists()


def periodic_task_form(task: PeriodicTask, **changes: str) -> dict[str, str]:
    form = {
        "name": task.name, "task": task.task, "description": task.description, "interval": str(task.interval_id),
        "args": task.args, "kwargs": task.kwargs, "queue": task.queue, "priority": str(task.priority),
        "headers": task.headers, "enabled": "on",
    }
    return {key: value for key, value in {**form, **changes}.items() if value is not None}


def test_pausing_a_periodic_task_is_logged_and_journaled(admin_client, admin_user: User) -> None:
    sealing = PeriodicTask.objects.get(task="audit.seal")

    response = admin_client.post(
        f"/admin/django_celery_beat/periodictask/{sealing.pk}/change/",
        periodic_task_form(sealing, enabled=None, priority="9", change_reason="incident 2026-031: pause sealing"),
    )

    assert response.status_code == 302
    sealing.refresh_from_db()
    assert (sealing.enabled, sealing.priority) == (False, 9)
    [entry] = entries_for(sealing)
    assert (entry.actor, entry.additional_data) == (admin_user, {"reason": "incident 2026-031: pause sealing"})
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id, event.before, event.after, event.reason) == (
        "admin.django_celery_beat.periodictask.updated", "django_celery_beat.periodictask", str(sealing.pk),
        {"enabled": "True", "priority": "8"}, {"enabled": "False", "priority": "9"},
        "incident 2026-031: pause sealing",
    )


def test_pausing_a_periodic_task_without_a_reason_changes_nothing(admin_client) -> None:
    sealing = PeriodicTask.objects.get(task="audit.seal")

    response = admin_client.post(f"/admin/django_celery_beat/periodictask/{sealing.pk}/change/",
                                 periodic_task_form(sealing, enabled=None))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == REASON_REQUIRED
    sealing.refresh_from_db()
    assert sealing.enabled is True
    assert entries_for(sealing) == []
    assert not AuditEvent.objects.exists()


def test_a_merchant_edited_in_the_admin_is_journaled_once_by_its_service(admin_client, admin_user: User) -> None:
    merchant = merchants.merchant_create(legal_name="Gulf Pay", country="BH", currencies=["BHD"],
                                         actor=Actor.staff(admin_user), reason="onboarding")
    created = AuditEvent.objects.get()

    response = admin_client.post(
        f"/admin/merchants/merchant/{merchant.pk}/change/",
        {"legal_name": "Gulf Pay W.L.L.", "country": "BH", "currencies": "BHD,USD", "rate_limit": "",
         "change_reason": "KYC refresh", "api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0"},
    )

    assert response.status_code == 302
    merchant.refresh_from_db()
    assert (merchant.legal_name, merchant.currencies) == ("Gulf Pay W.L.L.", ["BHD", "USD"])
    # auditlog keeps its field history of the merchant ...
    [entry] = entries_for(merchant)
    assert (entry.actor, entry.changes_dict) == (
        admin_user, {"legal_name": ["Gulf Pay", "Gulf Pay W.L.L."], "currencies": ["['BHD']", "['BHD', 'USD']"]}
    )
    # ... but the journal holds only the service's business event, not a mirrored copy.
    [updated] = AuditEvent.objects.exclude(pk=created.pk)
    assert (updated.action, updated.object_id, updated.before, updated.after, updated.reason, updated.actor_id) == (
        "merchant.updated", str(merchant.pk),
        {"legal_name": "Gulf Pay", "currencies": ["BHD"]},
        {"legal_name": "Gulf Pay W.L.L.", "currencies": ["BHD", "USD"]},
        "KYC refresh", str(admin_user.pk),
    )


def test_changes_made_outside_the_admin_by_no_one_are_not_mirrored() -> None:
    role = Group.objects.create(name="treasury")

    [entry] = LogEntry.objects.filter(object_pk=str(role.pk), content_type__model="group")
    assert entry.actor is None
    assert not AuditEvent.objects.exists()


def test_granting_a_role_on_a_staff_users_page_is_journaled(admin_client, staff_user: User) -> None:
    treasury = Group.objects.create(name="treasury operator")

    response = admin_client.post(
        f"/admin/auth/user/{staff_user.pk}/change/",
        user_form(staff_user, groups=[str(treasury.pk)], change_reason="joins treasury"),
    )

    assert response.status_code == 302
    assert list(staff_user.groups.all()) == [treasury]
    event = AuditEvent.objects.get()
    assert (event.action, event.object_id, event.reason) == ("admin.auth.user.updated", str(staff_user.pk),
                                                             "joins treasury")
