"""Session advisory locks: one holder at a time, released on leaving, and not taken from a holder."""

import psycopg2
import pytest
from django.db import connection

from apps.core.locks import session_lock

pytestmark = pytest.mark.django_db

KEY = 7399 << 32 | 42  # a namespace no app uses


def _other_connection_takes(key: int) -> bool:
    """Whether another session gets the lock now (and gives it back at once)."""
    settings = connection.settings_dict
    other = psycopg2.connect(dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"],
                             port=settings["PORT"] or 5432)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            taken = cursor.fetchone()[0]
            if taken:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return taken
    finally:
        other.close()


def test_the_lock_is_held_inside_and_released_after():
    with session_lock(KEY) as held:
        assert held is True
        assert not _other_connection_takes(KEY)
    assert _other_connection_takes(KEY)


def test_a_lock_another_session_holds_is_not_taken_nor_released():
    settings = connection.settings_dict
    holder = psycopg2.connect(dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"],
                              port=settings["PORT"] or 5432)
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [KEY])
        with session_lock(KEY) as held:
            assert held is False
        with holder.cursor() as cursor:  # still the holder's: leaving did not release it
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                           "AND pid = pg_backend_pid()")
            assert cursor.fetchone()[0] == 1
    finally:
        holder.close()
