"""Staff sessions end after 30 idle minutes or 8 hours from signing in (FINCORE_ADMIN_*), journaled."""

from datetime import timedelta

import pytest

from apps.core import clock
from tests.factories.staff import signed_in_client, staff_user
from tests.ops.staff.conftest import journal

pytestmark = pytest.mark.django_db

MERCHANTS = "/admin/merchants/merchant/"


def _answers(client) -> bool:
    response = client.get(MERCHANTS)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def test_a_session_idle_for_30_minutes_ends_and_is_journaled(time_machine):
    time_machine.move_to(clock.now() + timedelta(hours=1), tick=False)
    user = staff_user("Compliance officer")
    client = signed_in_client(user)

    time_machine.shift(timedelta(minutes=29, seconds=59))
    assert _answers(client)  # and it counts as activity
    time_machine.shift(timedelta(minutes=29, seconds=59))
    assert _answers(client)
    assert journal() == []
    time_machine.shift(timedelta(minutes=30))
    response = client.get(MERCHANTS)

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert not _answers(client)
    [ended] = journal()
    assert (ended.action, ended.actor_type, ended.actor_id, ended.object_id, ended.after) == (
        "staff.session_expired", "staff", str(user.pk), str(user.pk), {"cause": "idle"},
    )
    page = client.get(response["Location"])
    assert "Your session ended after 30 minutes without activity." in page.content.decode()


def test_an_active_session_ends_8_hours_after_signing_in(time_machine):
    time_machine.move_to(clock.now() + timedelta(hours=1), tick=False)
    user = staff_user("Treasury operator")
    client = signed_in_client(user)

    for _ in range(23):
        time_machine.shift(timedelta(minutes=20))
        assert _answers(client)
    time_machine.shift(timedelta(minutes=19, seconds=59))
    assert _answers(client)  # 7 h 59 min 59 s
    time_machine.shift(timedelta(seconds=1))

    assert not _answers(client)
    assert [(event.action, event.after) for event in journal()] == [("staff.session_expired", {"cause": "lifetime"})]


def test_both_limits_come_from_the_settings(time_machine, settings):
    settings.FINCORE_ADMIN_IDLE_TIMEOUT = timedelta(minutes=5)
    settings.FINCORE_ADMIN_SESSION_LIFETIME = timedelta(hours=1)
    time_machine.move_to(clock.now() + timedelta(hours=1), tick=False)
    idle = signed_in_client(staff_user("Support (read-only)"))
    time_machine.shift(timedelta(minutes=4, seconds=59))
    assert _answers(idle)
    time_machine.shift(timedelta(minutes=5))
    assert not _answers(idle)

    busy = signed_in_client(staff_user("Support (read-only)"))
    for _ in range(14):
        time_machine.shift(timedelta(minutes=4))
        assert _answers(busy)
    time_machine.shift(timedelta(minutes=3, seconds=59))
    assert _answers(busy)  # 59 min 59 s
    time_machine.shift(timedelta(seconds=1))
    assert not _answers(busy)
    assert [event.after for event in journal()] == [{"cause": "idle"}, {"cause": "lifetime"}]


def test_a_signed_in_session_without_sign_in_times_is_ended(client):
    """A session signed in some other way than the two-factor sign-in (none should exist) is ended."""
    user = staff_user(superuser=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")

    assert not _answers(client)
    assert [(event.action, event.after) for event in journal()] == [("staff.session_expired", {"cause": "lifetime"})]
