"""Fixtures shared by the whole suite. Everything runs against the real services."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from apps.merchants.models import Merchant
from tests.factories.merchants import authenticated_client, merchant_with_key
from tests.factories.staff import signed_in_client, staff_user
from tests.support.time_travel import guard_travels, mark_time_sensitive  # noqa: F401 - guard_travels is autouse


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "time_sensitive: travels in time or reads the clock (given at collection; `make test-clock-ahead` runs "
        "these with the clock 400 days ahead)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_time_sensitive(items)


@pytest.fixture(autouse=True)
def _clean_redis():
    """Rate limits, delivery counters and probe records start empty in every test."""
    get_redis_connection("default").flushdb()
    yield


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
