"""Staff clients for the Audit section's admin tests, signed in with both factors."""

from collections.abc import Callable

import pytest
from django.test import Client

from tests.factories.staff import signed_in_client, staff_user


@pytest.fixture
def staff_client(db) -> Callable[[str], Client]:
    """``staff_client("Compliance officer")``: a signed-in client of a staff user in that role."""

    def log_in(role: str) -> Client:
        return signed_in_client(staff_user(role, username=role.lower().replace(" ", ".")))

    return log_in


@pytest.fixture
def compliance_client(staff_client: Callable[[str], Client]) -> Client:
    return staff_client("Compliance officer")
