"""Maker-checker's cast: an officer and a treasury operator (makers), two supervisors (checkers),
support (read-only). Built by tests/factories/checkers.py."""

import pytest
from django.contrib.auth.models import User

from tests.factories.staff import OFFICER, SUPERVISOR, SUPPORT, TREASURY, staff_user


@pytest.fixture
def officer(db) -> User:
    return staff_user(OFFICER, username="olivia")


@pytest.fixture
def treasury(db) -> User:
    return staff_user(TREASURY, username="tariq")


@pytest.fixture
def supervisor(db) -> User:
    return staff_user(SUPERVISOR, username="sara")


@pytest.fixture
def second_supervisor(db) -> User:
    return staff_user(SUPERVISOR, username="salman")


@pytest.fixture
def support(db) -> User:
    return staff_user(SUPPORT, username="sami")
