"""Time travel in tests: the guard that keeps it honest, and which tests depend on the clock.

A test that writes rows at the real time and then travels back to a fixed instant builds a
database in which those rows come from the future. It passes on the day it is written and
fails once the real date passes that instant: the posting engine stamps later transfers no
earlier than the account's last posting, a sweep finds nothing due (issue 8). So a test either
builds all of its state inside the travel, or travels relative to the real ``clock.now()``.

``guard_travels`` enforces it: travelling (from the test's own time) to an instant before the
present, once the test's transaction has written rows at the present, fails at once. Travels
inside a travel are free — going back is then part of what the test builds. It watches the
test's PostgreSQL transaction, so it cannot see rows a ``transaction=True`` test has already
committed; ``make test-clock-ahead`` (the suite 400 days ahead) covers those.
"""

import inspect
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import CodeType, FunctionType, ModuleType

import psycopg2
import pytest
import time_machine
from django.db import connection

from apps.core import clock

# Travelling back less than this is "now", not the past (a frozen clock.now() is a few
# microseconds behind by the time the travel starts).
TOLERANCE_NS = 1_000_000_000


class TravelledBehindItsRows(AssertionError):
    """A test travelled to an instant before rows it had written at the real time."""


def _ask(sql: str) -> object:
    """One value from the test's open transaction, asked on psycopg2's own cursor (so that
    ``django_assert_num_queries`` does not count it); None when there is no such transaction
    (no database, or a ``transaction=True`` test) or it has failed."""
    if not connection.in_atomic_block or connection.connection is None or connection.needs_rollback:
        return None
    try:
        with connection.connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]
    except psycopg2.Error:  # an aborted transaction: the test is failing anyway
        return None


def has_written() -> bool:
    """Whether the test's transaction has written anything yet (it has a transaction id)."""
    return bool(_ask("SELECT pg_current_xact_id_if_assigned() IS NOT NULL"))


def write_count() -> int | None:
    """A count of rows inserted, updated and deleted by this database session. It includes
    earlier transactions' until PostgreSQL flushes them, which it never does inside a transaction:
    only differences taken within the test's transaction mean anything."""
    count = _ask("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables")
    return None if count is None else int(count)


def a_day_ahead() -> datetime:
    """clock.now() plus a day, to the whole second: later than every row written so far, so a
    test may travel there after writing rows at the present. A module's ``T0 = a_day_ahead()``,
    taken at collection, stays ahead of the present for the whole run."""
    return clock.now().replace(microsecond=0) + timedelta(days=1)


def real_now() -> datetime:
    """The machine's own clock: what PostgreSQL, Redis and RabbitMQ stamp with, whatever the
    suite's clock offset (FINCORE_TEST_CLOCK_OFFSET_DAYS) or a test's travel."""
    if time_machine.escape_hatch.is_travelling():
        return time_machine.escape_hatch.datetime.datetime.now(UTC)
    return datetime.now(UTC)


def _instant(timestamp_ns: int) -> str:
    return datetime.fromtimestamp(timestamp_ns / 1e9, tz=UTC).isoformat(timespec="seconds")


@pytest.fixture(autouse=True)
def guard_travels(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail a test that travels back behind the rows it wrote at the present (see the module)."""
    # 1 when the whole run travels (FINCORE_TEST_CLOCK_OFFSET_DAYS): that is the test's present.
    present_depth = len(time_machine.traveller_stack)
    # write_count() when the test last came back to the present from a travel; None before.
    count_at_return: int | None = None
    start, stop = time_machine.travel.start, time_machine.travel.stop

    def wrote_at_the_present() -> bool:
        if count_at_return is None:
            return has_written()  # no travel yet: whatever the test wrote, it wrote at the present
        count = write_count()
        return count is not None and count > count_at_return

    def guarded_start(travel: time_machine.travel) -> time_machine.Traveller:
        if len(time_machine.traveller_stack) == present_depth:
            now_ns = time.time_ns()
            if travel.destination_timestamp_ns < now_ns - TOLERANCE_NS and wrote_at_the_present():
                raise TravelledBehindItsRows(
                    f"This test travels to {_instant(travel.destination_timestamp_ns)}, before rows it wrote at the "
                    f"present ({_instant(now_ns)}): they would come from its future, and the test would pass or "
                    "fail depending on today's date. Write them inside the travel, or travel relative to clock.now()."
                )
        return start(travel)

    def guarded_stop(travel: time_machine.travel) -> None:
        nonlocal count_at_return
        stop(travel)
        if len(time_machine.traveller_stack) == present_depth:
            count_at_return = write_count()

    monkeypatch.setattr(time_machine.travel, "start", guarded_start)
    monkeypatch.setattr(time_machine.travel, "stop", guarded_stop)
    yield


# Which tests depend on the clock: those that travel or read the time (apps.core.clock), in their
# own code or through a fixture, helper or class of the suite they use. `make test-clock-ahead`
# runs them with the clock 400 days ahead. It is decided at collection, so a new test that
# travels is in that run without anyone listing it.
TIME_MODULES = frozenset({"time_machine", "apps.core.clock"})


def _code_names(code: CodeType) -> set[str]:
    """The global and attribute names ``code`` refers to, nested functions and lambdas included."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            names |= _code_names(constant)
    return names


def uses_the_clock(target: object) -> bool:
    """Whether ``target`` (a function or class) refers to time_machine or apps.core.clock, itself or
    through a function or class of the suite it refers to."""
    return _uses_the_clock(target, set())


def _uses_the_clock(target: object, seen: set[int]) -> bool:
    if id(target) in seen:
        return False
    seen.add(id(target))
    if isinstance(target, type):
        return any(_uses_the_clock(member, seen) for member in vars(target).values()
                   if isinstance(member, FunctionType | property | staticmethod | classmethod | type))
    if isinstance(target, property):
        return target.fget is not None and _uses_the_clock(target.fget, seen)
    if isinstance(target, staticmethod | classmethod):
        return _uses_the_clock(target.__func__, seen)
    function = inspect.unwrap(target) if callable(target) else target
    code = getattr(function, "__code__", None)
    if code is None:
        return False
    namespace = getattr(function, "__globals__", {})
    for name in _code_names(code):
        value = namespace.get(name)
        if value is None:
            continue
        home = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
        if home in TIME_MODULES:
            return True
        if (isinstance(home, str) and home.startswith("tests.") and isinstance(value, FunctionType | type)
                and _uses_the_clock(value, seen)):
            return True
    return False


def depends_on_the_clock(item: pytest.Item) -> bool:
    """Whether the test travels or reads the time, itself or through what it uses."""
    if "time_machine" in getattr(item, "fixturenames", ()) or item.get_closest_marker("time_machine"):
        return True
    seen: set[int] = set()
    if _uses_the_clock(getattr(item, "function", None), seen):
        return True
    fixtures = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    return any(
        _uses_the_clock(definitions[-1].func, seen)
        for definitions in fixtures.values()
        if definitions and _is_suite_fixture(definitions[-1].func)
    )


def _is_suite_fixture(function: object) -> bool:
    home = getattr(function, "__module__", "")
    return home.startswith("tests.") and home != __name__  # not the guard, which every test has


def mark_time_sensitive(items: list[pytest.Item]) -> None:
    """Mark ``time_sensitive`` every test that depends on the clock (see above)."""
    for item in items:
        if depends_on_the_clock(item):
            item.add_marker(pytest.mark.time_sensitive)
