"""Lockout (django-axes): five failures for one username from one address lock that pair for 30
minutes, whichever step failed; a compliance supervisor releases a lock, journaled."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog

from tests.factories.staff import signed_in_client, staff_user, totp_code
from tests.ops.staff.conftest import CODE, code_step, journal, password_step

pytestmark = pytest.mark.django_db

LOCKS = "/admin/axes/accessattempt/"


def _fail(client, username: str, times: int, **extra) -> list[int]:
    return [password_step(client, username, "wrong password", **extra).status_code for _ in range(times)]


def test_four_failures_do_not_lock_and_a_full_sign_in_forgets_them(client, step_start):
    user = staff_user("Compliance officer", username="amina")

    assert _fail(client, "amina", 4) == [200, 200, 200, 200]
    assert password_step(client, "amina").status_code == 302
    assert code_step(client, totp_code(user)).status_code == 302

    assert not AccessAttempt.objects.exists()
    assert AccessFailureLog.objects.filter(username="amina").count() == 4
    assert AccessLog.objects.filter(username="amina").count() == 1


def test_the_fifth_failure_locks_the_username_from_that_address_for_30_minutes(client, step_start):
    user = staff_user("Compliance officer", username="amina")

    statuses = _fail(client, "amina", 5)
    locked = password_step(client, "amina")  # the right password, too late

    assert statuses == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    assert "Sign-in locked: 5 failed attempts" in locked.content.decode()
    assert client.get(CODE)["Location"].startswith("/admin/login/")
    assert [event.after for event in journal()] == [
        *[{"username": "amina", "stage": "password", "locked_out": False}] * 4,
        {"username": "amina", "stage": "password", "locked_out": True},
        {"username": "amina", "stage": "password", "locked_out": True},
    ]
    # Another address is not locked out by this one's failures.
    assert password_step(client, "amina", REMOTE_ADDR="10.0.0.9").status_code == 302

    step_start.shift(timedelta(minutes=29, seconds=58))
    assert password_step(client, "amina").status_code == 429  # not counted: the lock still ends at 30 min
    step_start.shift(timedelta(seconds=3))
    assert password_step(client, "amina").status_code == 302
    assert code_step(client, totp_code(user, steps=0)).status_code == 302


def test_five_wrong_codes_lock_the_username_too(client, step_start):
    user = staff_user("Compliance officer", username="amina")
    password_step(client, "amina")
    wrong = f"{(int(totp_code(user)) + 1) % 1_000_000:06d}"

    statuses = []
    for _ in range(5):
        statuses.append(code_step(client, wrong).status_code)
        step_start.shift(timedelta(seconds=20))  # past django-otp's own growing delay between tries

    assert statuses == [200, 200, 200, 200, 429]
    assert password_step(client, "amina").status_code == 429
    assert AccessAttempt.objects.get(username="amina").failures_since_start == 5


def test_a_supervisor_releases_a_lock_with_a_reason_and_it_is_journaled(client, step_start):
    staff_user("Compliance officer", username="amina")
    _fail(client, "amina", 4)
    assert _fail(client, "amina", 1, HTTP_USER_AGENT="another browser") == [429]  # browsers add up
    supervisor = staff_user("Compliance supervisor", username="sara")
    desk = signed_in_client(supervisor)
    [attempt, *_] = AccessAttempt.objects.filter(username="amina")

    confirm = desk.post(LOCKS, {"action": "lock_release", "_selected_action": [attempt.pk]})
    assert confirm.status_code == 200 and AccessAttempt.objects.count() == 2  # asks for the reason first
    done = desk.post(LOCKS, {"action": "lock_release", "_selected_action": [attempt.pk], "apply": "1",
                             "change_reason": "Called from her desk phone, ticket OPS-7"})

    assert done.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert AccessFailureLog.objects.filter(username="amina").count() == 5  # the record of failures stays
    [released] = journal("staff.login_lock_released")
    assert (released.actor_type, released.actor_id, released.actor_label, released.reason) == (
        "staff", str(supervisor.pk), "sara", "Called from her desk phone, ticket OPS-7",
    )
    assert released.before["username"] == "amina" and released.before["ip_address"] == "127.0.0.1"
    assert released.before["failures"] == 5
    assert password_step(client, "amina").status_code == 302


@pytest.mark.parametrize("role", ["Compliance officer", "Treasury operator", "Support (read-only)"])
def test_only_supervisors_release_locks(client, role):
    staff_user("Compliance officer", username="amina")
    _fail(client, "amina", 5)
    attempt = AccessAttempt.objects.get()
    desk = signed_in_client(staff_user(role))

    desk.post(LOCKS, {"action": "lock_release", "_selected_action": [attempt.pk], "apply": "1",
                      "change_reason": "please"})

    assert AccessAttempt.objects.get().failures_since_start == 5
    assert journal("staff.login_lock_released") == []


def test_failed_logins_are_visible_to_supervisors_and_nothing_can_be_changed(client):
    _fail(client, "amina", 2)
    desk = signed_in_client(staff_user("Compliance supervisor"))

    page = desk.get("/admin/axes/accessfailurelog/")
    attempt = AccessAttempt.objects.get()

    assert [row.username for row in page.context["cl"].result_list] == ["amina", "amina"]
    assert "3 attempts left" in desk.get(LOCKS).content.decode()
    assert desk.post(f"{LOCKS}{attempt.pk}/change/", {}).status_code == 403
    assert desk.get(f"{LOCKS}{attempt.pk}/delete/").status_code == 403
    assert desk.get(f"{LOCKS}add/").status_code == 403
