"""Fixtures shared by the whole suite. Everything runs against the real services."""

import pytest
from django_redis import get_redis_connection
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _clean_redis():
    """Rate limits, delivery counters and probe records start empty in every test."""
    get_redis_connection("default").flushdb()
    yield


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()
