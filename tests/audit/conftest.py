"""Staff clients for the Audit section's admin tests. Until the staff factory with a verified
TOTP device (tests/factories/staff.py) is merged, they log in with force_login: this fixture
is the one place to switch."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client


@pytest.fixture
def staff_client(db) -> Callable[[str], Client]:
    """``staff_client("Compliance officer")``: a logged-in client of a staff user in that role."""

    def log_in(role: str) -> Client:
        user = User.objects.create_user(username=role.lower().replace(" ", "."), password="unused", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client = Client()
        client.force_login(user)
        return client

    return log_in


@pytest.fixture
def compliance_client(staff_client: Callable[[str], Client]) -> Client:
    return staff_client("Compliance officer")
