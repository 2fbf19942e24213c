import pytest
from django.contrib.auth.models import Group
from django_celery_beat.models import PeriodicTask

pytestmark = pytest.mark.django_db

ROLES = ("Compliance officer", "Compliance supervisor", "Treasury operator", "Support (read-only)")


def _permissions(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_the_migration_creates_the_staff_roles():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)


def test_support_is_read_only():
    permissions = _permissions("Support (read-only)")
    assert permissions
    assert all(permission.split(".")[1].startswith("view_") for permission in permissions)


def test_every_role_sees_the_ledger_and_none_may_change_it():
    ledger_views = {"ledger.view_account", "ledger.view_transfer", "ledger.view_entry", "ledger.view_verification"}
    for role in ROLES:
        permissions = _permissions(role)
        assert ledger_views <= permissions, role
        assert not {p for p in permissions if p.startswith("ledger.") and not p.startswith("ledger.view_")}


def test_compliance_officers_request_suspensions_and_revocations_and_supervisors_approve_them():
    requests = {"compliance.request_merchant_status", "compliance.request_api_key_revoke"}
    assert requests <= _permissions("Compliance officer")
    assert not requests & _permissions("Compliance supervisor")
    assert "compliance.approve_approvalrequest" in _permissions("Compliance supervisor")
    for role in ("Compliance officer", "Treasury operator", "Support (read-only)"):
        assert "compliance.approve_approvalrequest" not in _permissions(role), role
    assert "merchants.change_merchant" not in _permissions("Treasury operator")


def test_only_the_treasury_operator_replays_dead_letters():
    holders = [role for role in ROLES if "events.replay_deadletter" in _permissions(role)]
    assert holders == ["Treasury operator"]


def test_every_role_sees_webhooks_and_only_the_treasury_operator_acts_on_them():
    webhook_views = {"events.view_webhookendpoint", "events.view_webhookevent", "events.view_webhookdelivery",
                     "events.view_webhookdeliveryattempt"}
    for role in ROLES:
        assert webhook_views <= _permissions(role), role
    actors = [role for role in ROLES if {"events.change_webhookendpoint", "events.change_webhookdelivery"}
              <= _permissions(role)]
    assert actors == ["Treasury operator"]


def test_migrations_install_the_platform_schedules_once():
    schedules = {task.task: task for task in PeriodicTask.objects.all()}
    assert {"audit.seal", "audit.verify", "events.outbox_sweep", "events.dead_letters_collect", "events.purge",
            "core.idempotency_purge", "ledger.expire_pending", "ledger.verify"} <= set(schedules)
    assert schedules["ledger.expire_pending"].queue == "ledger"
    assert schedules["events.outbox_sweep"].interval.every == 10
    assert schedules["audit.verify"].crontab.hour == "2"
    assert all(task.enabled for task in schedules.values())


def test_only_supervisors_see_sign_in_records_and_release_locks():
    sign_in = {"axes.view_accessattempt", "axes.view_accessfailurelog", "axes.view_accesslog",
               "axes.unlock_accessattempt"}
    holders = {role: _permissions(role) & sign_in for role in ROLES}
    assert holders == {"Compliance officer": set(), "Compliance supervisor": sign_in, "Treasury operator": set(),
                       "Support (read-only)": set()}


def test_no_role_may_manage_staff_users_roles_or_devices():
    for role in ROLES:
        managing = {
            permission for permission in _permissions(role)
            if permission.split(".")[0] in ("auth", "otp_totp", "otp_static")
            and not permission.split(".")[1].startswith("view_")
        }
        assert managing == set(), role
