"""Fixtures shared by the whole suite. Everything runs against the real services."""

import itertools

import pytest
from django.conf import settings as django_settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from apps.merchants.models import Merchant
from tests.factories.merchants import authenticated_client, merchant_with_key
from tests.factories.staff import signed_in_client, staff_user
from tests.support.roles import roles_snapshot
from tests.support.time_travel import guard_travels, mark_time_sensitive  # noqa: F401 - guard_travels is autouse

_ANCHOR_DIRS = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "time_sensitive: travels in time or reads the clock (given at collection; `make test-clock-ahead` runs "
        "these with the clock 400 days ahead)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_time_sensitive(items)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database as pytest-django creates it, and a snapshot of the staff roles in it
    (tests/support/roles.py), taken before any transactional test empties the tables."""
    with django_db_blocker.unblock():
        roles_snapshot()


@pytest.fixture(scope="session")
def idle_sessions_ended_at_exit(django_db_setup, django_db_blocker):
    """The group committer's thread keeps its database connection between batches, for the
    life of the process; at the end of the session, end it (and any other thread's) so that
    the test database can be dropped. Transactional tests that post through it (the ledger's,
    settlement's) ask for it."""
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _clean_redis():
    """Rate limits, delivery counters and probe records start empty in every test."""
    get_redis_connection("default").flushdb()
    yield


@pytest.fixture(autouse=True)
def _audit_anchor_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test anchors the audit chain in a directory of its own (created when first written):
    the database is rolled back after every test, and anchors left by an earlier test would
    contradict the next test's chain. Set on the settings object itself, not with pytest-django's
    ``settings`` fixture: its override_settings would be in force in every test, and Celery, which
    reads its configuration from Django's settings, cannot list an overridden settings object."""
    anchor_dir = tmp_path_factory.getbasetemp() / "audit-anchors" / str(next(_ANCHOR_DIRS))
    monkeypatch.setattr(django_settings, "FINCORE_AUDIT_ANCHOR_DIR", anchor_dir)


@pytest.fixture
def admin_user(db):
    """pytest-django's superuser "admin", with the confirmed authenticator every staff user has."""
    return staff_user(username="admin", superuser=True, email="admin@example.com")


@pytest.fixture
def admin_client(admin_user):
    """pytest-django's admin client, signed in with both factors (the admin refuses any less)."""
    return signed_in_client(admin_user)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def merchant_and_secret(db) -> tuple[Merchant, str]:
    return merchant_with_key()


@pytest.fixture
def merchant(merchant_and_secret: tuple[Merchant, str]) -> Merchant:
    return merchant_and_secret[0]


@pytest.fixture
def secret(merchant_and_secret: tuple[Merchant, str]) -> str:
    return merchant_and_secret[1]


@pytest.fixture
def merchant_client(secret: str) -> APIClient:
    return authenticated_client(secret)


@pytest.fixture
def postgresql_down():
    """Point the database connection of this thread at a port where no PostgreSQL listens, as if
    it were down; the test's own connection (and its transaction) comes back afterwards. The short
    connect timeout only keeps tests fast."""
    real = connections[DEFAULT_DB_ALIAS]
    settings = real.settings_dict
    down = real.__class__(
        {**settings, "HOST": "127.0.0.1", "PORT": "1", "OPTIONS": {**settings["OPTIONS"], "connect_timeout": 1}},
        DEFAULT_DB_ALIAS,
    )
    connections[DEFAULT_DB_ALIAS] = down
    try:
        yield
    finally:
        connections[DEFAULT_DB_ALIAS] = real
        down.close()
