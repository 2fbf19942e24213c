"""Staff for maker-checker: users in their roles, each with a confirmed TOTP device, the code their
authenticator shows, and an admin client logged in as one of them.

``staff_client`` is the one place that logs staff in: when every admin page requires a verified
OTP device, switch it to the security helpers' factory (tests/factories/staff.py).
"""

import itertools

from django.contrib.auth.models import Group, User
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

OFFICER = "Compliance officer"
SUPERVISOR = "Compliance supervisor"
TREASURY = "Treasury operator"
SUPPORT = "Support (read-only)"

_usernames = itertools.count(1)


def staff_user(*roles: str, username: str = "", superuser: bool = False) -> User:
    """A staff user in ``roles`` with a confirmed TOTP device."""
    user = User.objects.create_user(
        username=username or f"staff{next(_usernames)}", password="x-unused-x", is_staff=True,
        is_superuser=superuser,
    )
    user.groups.add(*Group.objects.filter(name__in=roles))
    assert user.groups.count() == len(roles)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


def totp_code(user: User, *, seconds_ago: int = 0) -> str:
    """The code the user's authenticator shows now (or ``seconds_ago``)."""
    device = TOTPDevice.objects.get(user=user)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time -= seconds_ago
    return f"{totp.token():0{device.digits}d}"


def staff_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client
