"""PostgreSQL advisory locks held for a connection's session: one process at a time does a piece of
work (a settlement run, a scan of the statement drop folder), and a process that dies releases its
locks with its connection."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def session_lock(key: int) -> Iterator[bool]:
    """Try to take advisory lock ``key`` (a signed 64-bit number: by convention an app's namespace
    in the high 32 bits, the thing locked in the low ones) without waiting; yield whether it is
    held, and release it on leaving if it was."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
