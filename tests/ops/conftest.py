"""Fixtures of the ops tests: staff users with roles, logged in to the admin.

``staff_login`` is the one place a test client logs in: with ``force_login`` for now. When the
staff security work lands (every admin page asks for a verified TOTP device), it switches to the
OTP-verified client of ``tests/factories/staff.py`` here, and no test changes.
"""

import itertools
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from tests.payments.conftest import routing  # noqa: F401 - scripted connectors for the dashboard's payments

_usernames = itertools.count(1)


def staff_user(*roles: str, superuser: bool = False) -> User:
    """A staff user holding ``roles`` (the groups ops 0001 creates), or a superuser."""
    user = User.objects.create_user(username=f"staff-{next(_usernames)}", is_staff=True, is_superuser=superuser)
    user.groups.add(*Group.objects.filter(name__in=roles))
    assert user.groups.count() == len(roles), f"unknown role among {roles}"
    return user


@pytest.fixture
def staff_login(db) -> Callable[..., Client]:
    """``staff_login(user)``: a new admin client, logged in as ``user``."""

    def login(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login
