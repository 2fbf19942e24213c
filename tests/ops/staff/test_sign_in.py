"""Signing in to the admin: a password, then a TOTP code or a recovery code; enrolment on a first
sign-in; every step journaled."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.ops.staff import services
from tests.contract.test_assets import EXTERNAL
from tests.factories.staff import PASSWORD, staff_user, totp_code
from tests.ops.staff.conftest import CODE, LOGIN, code_step, journal, password_step

pytestmark = pytest.mark.django_db


def _signed_in_as(client) -> str | None:
    """Who the admin lets in: the username on the index page, or None when it asks to sign in."""
    page = client.get("/admin/")
    return page.context["user"].get_username() if page.status_code == 200 else None


def test_a_password_and_the_current_code_sign_in_and_are_journaled(client, step_start):
    user = staff_user("Compliance officer", username="amina")

    first = password_step(client, "amina")
    assert (first.status_code, first["Location"]) == (302, f"{CODE}?next=%2Fadmin%2F")
    assert _signed_in_as(client) is None  # the password alone signs nobody in
    assert client.get(CODE).status_code == 200

    second = code_step(client, totp_code(user))

    assert (second.status_code, second["Location"]) == (302, "/admin/")
    assert _signed_in_as(client) == "amina"
    [signed_in] = journal()
    assert (signed_in.action, signed_in.actor_type, signed_in.actor_id, signed_in.actor_label,
            signed_in.object_type, signed_in.object_id, signed_in.after, signed_in.ip) == (
        "staff.logged_in", "staff", str(user.pk), "amina", "auth.user", str(user.pk), {"method": "totp"},
        "127.0.0.1",
    )


def test_a_wrong_code_signs_nobody_in_and_is_journaled(client, step_start):
    user = staff_user("Compliance officer", username="amina")
    password_step(client, "amina")
    wrong = f"{(int(totp_code(user)) + 1) % 1_000_000:06d}"

    page = code_step(client, wrong)

    assert page.status_code == 200
    assert page.context["form"].errors == {"code": ["That code is not valid."]}
    assert _signed_in_as(client) is None
    [failed] = journal()
    assert (failed.action, failed.actor_id, failed.actor_label, failed.after) == (
        "staff.login_failed", str(user.pk), "amina",
        {"username": "amina", "stage": "second_factor", "locked_out": False},
    )


def test_a_code_is_accepted_once_and_an_older_one_never_after_it(client, step_start):
    user = staff_user("Compliance officer", username="amina")
    code, previous = totp_code(user), totp_code(user, steps=-1)
    password_step(client, "amina")
    assert code_step(client, code).status_code == 302
    client.post("/admin/logout/")

    password_step(client, "amina")
    reused = code_step(client, code)
    step_start.shift(timedelta(seconds=2))  # past the throttle the wrong code set (1 s)
    older = code_step(client, previous)

    assert reused.context["form"].errors == {"code": ["That code is not valid."]}
    assert older.context["form"].errors == {"code": ["That code is not valid."]}
    assert _signed_in_as(client) is None
    step_start.shift(timedelta(seconds=30))  # the next time step: its code is new
    assert code_step(client, totp_code(user)).status_code == 302
    assert _signed_in_as(client) == "amina"


def test_a_wrong_password_is_refused_and_journaled_and_never_reaches_the_code(client):
    user = staff_user("Treasury operator", username="bilal")

    page = password_step(client, "bilal", "not the password")

    assert page.status_code == 200
    assert page.context["form"].non_field_errors() == [
        "Please enter the correct username and password for a staff account. Both may be case-sensitive."
    ]
    assert client.get(CODE)["Location"] == f"{LOGIN}?next=%2Fadmin%2F"
    [failed] = journal()
    assert (failed.action, failed.actor_id, failed.after) == (
        "staff.login_failed", str(user.pk), {"username": "bilal", "stage": "password", "locked_out": False},
    )


def test_an_unknown_username_is_journaled_without_a_user(client):
    password_step(client, "mallory", "guess")

    [failed] = journal()
    assert (failed.actor_type, failed.actor_id, failed.actor_label, failed.object_id, failed.after) == (
        "staff", "", "mallory", "", {"username": "mallory", "stage": "password", "locked_out": False},
    )


def test_a_user_who_is_not_staff_is_refused_with_the_right_password(client):
    User.objects.create_user("customer", password=PASSWORD)

    page = password_step(client, "customer")

    assert page.status_code == 200 and page.context["form"].non_field_errors()
    assert [event.action for event in journal()] == ["staff.login_failed"]


def test_a_first_sign_in_enrols_an_authenticator_and_shows_recovery_codes_once(client, step_start):
    user = User.objects.create_user("carla", password=PASSWORD, is_staff=True)
    password_step(client, "carla")

    enrol = client.get(CODE)

    assert enrol.status_code == 200
    html = enrol.content.decode()
    assert '<svg' in html and 'class="segno"' in html
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    secret = enrol.context["secret"].replace(" ", "")
    assert len(secret) == 32 and secret in device.config_url
    assert not EXTERNAL.findall(html)  # nothing loaded from another host
    assert client.get(CODE).context["secret"] == enrol.context["secret"]  # a reload shows the same secret

    codes_page = code_step(client, totp_code(device))

    assert codes_page.status_code == 200
    assert "no-store" in codes_page["Cache-Control"]
    codes = codes_page.context["recovery_codes"]
    assert len(codes) == 10 == len(set(codes))
    assert sorted(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)) == sorted(codes)
    device.refresh_from_db()
    assert device.confirmed is True
    assert _signed_in_as(client) == "carla"
    assert [(event.action, event.after) for event in journal()] == [
        ("staff.two_factor_enrolled", {"device": device.persistent_id, "recovery_codes": 10}),
        ("staff.logged_in", {"method": "enrolment"}),
    ]
    # Shown once: the enrolment is over, so its page only leads back to the sign-in.
    assert client.get(CODE)["Location"] == f"{LOGIN}?next=%2Fadmin%2F"


def test_a_wrong_code_confirms_no_enrolment(client, step_start):
    user = User.objects.create_user("carla", password=PASSWORD, is_staff=True)
    password_step(client, "carla")
    client.get(CODE)
    device = TOTPDevice.objects.get(user=user)

    page = code_step(client, f"{(int(totp_code(device)) + 1) % 1_000_000:06d}")

    assert page.context["form"].errors == {"code": ["That code does not match the new authenticator."]}
    device.refresh_from_db()
    assert device.confirmed is False
    assert not StaticDevice.objects.filter(user=user).exists()
    assert _signed_in_as(client) is None


def test_a_recovery_code_signs_in_once(client, step_start):
    user = User.objects.create_user("dana", password=PASSWORD, is_staff=True)
    device = services.totp_enrolment_device(user=user)
    _, codes = services.totp_enrolment_confirm(user=user, code=totp_code(device))

    password_step(client, "dana")
    assert code_step(client, codes[3].upper()).status_code == 302
    assert _signed_in_as(client) == "dana"
    client.post("/admin/logout/")
    password_step(client, "dana")
    again = code_step(client, codes[3])

    assert again.context["form"].errors == {"code": ["That code is not valid."]}
    assert _signed_in_as(client) is None
    assert StaticToken.objects.filter(device__user=user).count() == 9
    assert [(event.action, event.after) for event in journal()] == [
        ("staff.two_factor_enrolled", {"device": f"otp_totp.totpdevice/{device.pk}", "recovery_codes": 10}),
        ("staff.logged_in", {"method": "recovery_code", "recovery_codes_left": 9}),
        ("staff.logged_out", {"cause": "logout"}),
        ("staff.login_failed", {"username": "dana", "stage": "second_factor", "locked_out": False}),
    ]


def test_signing_out_is_journaled_and_ends_the_session(client, step_start):
    user = staff_user("Support (read-only)", username="eve")
    password_step(client, "eve")
    code_step(client, totp_code(user))

    response = client.post("/admin/logout/")

    assert response.status_code == 200
    assert _signed_in_as(client) is None
    assert [(event.action, event.actor_id, event.after) for event in journal()] == [
        ("staff.logged_in", str(user.pk), {"method": "totp"}),
        ("staff.logged_out", str(user.pk), {"cause": "logout"}),
    ]


def test_a_session_signed_in_without_the_second_factor_is_not_let_in(client):
    user = staff_user(superuser=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get("/admin/merchants/merchant/")

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_a_sign_in_left_half_way_expires_after_five_minutes(client, step_start):
    staff_user("Compliance officer", username="amina")
    password_step(client, "amina")

    step_start.shift(timedelta(minutes=5, seconds=1))

    assert client.get(CODE)["Location"] == f"{LOGIN}?next=%2Fadmin%2F"


def test_the_next_page_is_kept_and_another_host_is_not(client, step_start):
    user = staff_user("Compliance officer", username="amina")
    client.post(LOGIN, {"username": "amina", "password": PASSWORD, "next": "/admin/merchants/merchant/"})
    assert client.post(CODE, {"code": totp_code(user), "next": "/admin/merchants/merchant/"})["Location"] == (
        "/admin/merchants/merchant/"
    )
    client.post("/admin/logout/")
    step_start.shift(timedelta(seconds=30))
    client.post(LOGIN, {"username": "amina", "password": PASSWORD})
    assert client.post(CODE, {"code": totp_code(user), "next": "https://evil.example/"})["Location"] == "/admin/"


def test_a_user_deactivated_between_the_two_steps_is_not_signed_in(client, step_start):
    user = staff_user("Compliance officer", username="amina")
    password_step(client, "amina")
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = code_step(client, totp_code(user))

    assert response["Location"] == f"{LOGIN}?next=%2Fadmin%2F"
    assert _signed_in_as(client) is None
    assert journal() == []
