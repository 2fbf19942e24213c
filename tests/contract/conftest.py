"""The API as an outsider meets it: over a socket, through gunicorn, against the test database."""

from collections.abc import Iterator

import pytest

from tests.contract.live_server import LiveServer


@pytest.fixture(scope="session")
def gunicorn(django_db_setup, django_db_blocker) -> Iterator[LiveServer]:
    """One gunicorn for the session, started once the test database exists and stopped before
    it is dropped (the fixture's teardown runs first)."""
    # No rate limit in the way of schemathesis (a 429 is documented, but it tests nothing).
    server = LiveServer(env={"FINCORE_API_RATE_LIMIT": "1000000/second"}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def runserver(django_db_setup, django_db_blocker) -> Iterator[LiveServer]:
    """Django's development server (``manage.py runserver``), for what must work there too."""
    server = LiveServer(runserver=True).start()
    try:
        yield server
    finally:
        server.stop()
