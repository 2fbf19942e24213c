"""Signing in through the staff sign-in pages, as a browser does."""

import math

import pytest
from django.test import Client

from apps.core import clock
from tests.factories.staff import PASSWORD

LOGIN = "/admin/login/"
CODE = "/admin/login/code/"


def password_step(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, **extra)


def code_step(client: Client, code: str, **extra):
    return client.post(CODE, {"code": code, "next": "/admin/"}, **extra)


def journal(action_prefix: str = "staff."):
    from apps.audit.models import AuditEvent

    return list(AuditEvent.objects.filter(action__startswith=action_prefix).order_by("id"))


@pytest.fixture
def step_start(time_machine):
    """The clock stopped 1 s into a TOTP time step starting in the future (every code of the test
    belongs to one known 30-second step)."""
    start = (math.floor(clock.now().timestamp() / 30) + 2) * 30 + 1
    time_machine.move_to(start, tick=False)
    return time_machine
