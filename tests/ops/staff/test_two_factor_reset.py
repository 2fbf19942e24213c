"""A superuser resets a staff user's two-factor sign-in: journaled, and the next sign-in enrols."""

import pytest
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories.staff import signed_in_client, staff_user, totp_code
from tests.ops.staff.conftest import CODE, journal, password_step

pytestmark = pytest.mark.django_db

USERS = "/admin/auth/user/"


def _reset(desk, user, reason: str = "", apply: bool = True):
    data = {"action": "two_factor_reset", "_selected_action": [user.pk]}
    if apply:
        data.update(apply="1", change_reason=reason)
    return desk.post(USERS, data)


def test_a_reset_removes_the_devices_is_journaled_and_forces_a_new_enrolment(admin_client, admin_user, client,
                                                                          step_start):
    user = staff_user("Compliance officer", username="amina")
    StaticToken.objects.create(device=StaticDevice.objects.create(user=user, name="Recovery codes"), token="abcd2345")
    their_session = signed_in_client(user)
    assert their_session.get("/admin/").status_code == 200

    assert _reset(admin_client, user, apply=False).status_code == 200  # the reason first
    assert TOTPDevice.objects.filter(user=user).exists()
    done = _reset(admin_client, user, "Lost her phone, ticket OPS-12")

    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticDevice.objects.filter(user=user).exists()
    [event] = journal("staff.two_factor_reset")
    assert (event.actor_id, event.actor_label, event.object_id, event.reason, event.before, event.after) == (
        str(admin_user.pk), "admin", str(user.pk), "Lost her phone, ticket OPS-12",
        {"authenticators": 1, "recovery_codes": 1}, {"authenticators": 0, "recovery_codes": 0},
    )
    # Their open session has lost its second factor, and signing in again means enrolling again.
    assert their_session.get("/admin/")["Location"].startswith("/admin/login/")
    password_step(client, "amina")
    enrol = client.get(CODE)
    assert enrol.templates[0].name == "admin/fincore/sign_in/enrol.html"
    new_device = TOTPDevice.objects.get(user=user, confirmed=False)
    codes = client.post(CODE, {"code": totp_code(new_device), "next": "/admin/"})
    assert len(codes.context["recovery_codes"]) == 10


def test_a_supervisor_cannot_reset_anyones_two_factor_sign_in():
    user = staff_user("Compliance officer")
    desk = signed_in_client(staff_user("Compliance supervisor"))  # may see staff users

    assert desk.get(USERS).status_code == 200
    page = _reset(desk, user, "I am not a superuser")

    assert page.status_code == 200 and page.context["action_form"] is None  # no action offered, none done
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
    assert journal("staff.two_factor_reset") == []


def test_the_user_list_shows_who_has_two_factor_sign_in(admin_client):
    enrolled = staff_user("Compliance officer", username="amina")
    pending = staff_user("Compliance officer", username="bilal")
    TOTPDevice.objects.filter(user=pending).delete()

    page = admin_client.get(USERS)

    shown = {user.username: page.context["cl"].model_admin.two_factor(user) for user in page.context["cl"].result_list}
    assert shown == {"admin": True, enrolled.username: True, pending.username: False}
