"""Fixtures of the ops tests: staff users with roles, signed in to the admin with both factors."""

from collections.abc import Callable

import pytest
from django.test import Client

from tests.factories.staff import signed_in_client, staff_user  # noqa: F401 - staff_user for the tests
from tests.payments.conftest import routing  # noqa: F401 - scripted connectors for the dashboard's payments


@pytest.fixture
def staff_login(db) -> Callable[..., Client]:
    """``staff_login(user)``: a new admin client, signed in as ``user`` (password and TOTP)."""
    return signed_in_client
