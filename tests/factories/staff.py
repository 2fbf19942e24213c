"""Staff users as they are after signing in: roles, a confirmed authenticator, and a test client
whose session passed both factors (as the sign-in leaves it, without journaling a sign-in).

    client = signed_in_client(staff_user("Compliance supervisor"))
    code = totp_code(user)  # what the user's authenticator app shows now (browser tests type it)
"""

import itertools
import time

from django.contrib.auth.models import Group, User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.ops.staff import sessions

OFFICER = "Compliance officer"
SUPERVISOR = "Compliance supervisor"
TREASURY = "Treasury operator"
SUPPORT = "Support (read-only)"
ROLES = (OFFICER, SUPERVISOR, TREASURY, SUPPORT)
PASSWORD = "a long enough staff password"
BACKEND = "django.contrib.auth.backends.ModelBackend"

_numbers = itertools.count(1)


def staff_user(*roles: str, username: str | None = None, superuser: bool = False, password: str = PASSWORD,
               email: str = "") -> User:
    """An active staff user in ``roles`` (the groups ops 0001 makes), or a superuser, with a
    confirmed authenticator app."""
    unknown = set(roles) - set(ROLES)
    assert not unknown, f"no such role: {sorted(unknown)}"
    user = User.objects.create_user(
        username=username or f"staff{next(_numbers)}", password=password, email=email, is_staff=True,
        is_superuser=superuser,
    )
    groups = list(Group.objects.filter(name__in=roles))
    # A transactional test's flush removes the roles the migrations made: say so, not "no permission".
    assert len(groups) == len(roles), f"roles missing from the database: {roles}"
    user.groups.add(*groups)
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return user


def totp_device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.get(user=user, confirmed=True)


def totp_code(user_or_device: User | TOTPDevice, *, steps: int = 0) -> str:
    """The code the authenticator shows now (``steps`` time steps of 30 s later or, negative, earlier)."""
    device = user_or_device if isinstance(user_or_device, TOTPDevice) else totp_device(user_or_device)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps * device.step
    return f"{totp.token():0{device.digits}d}"


def signed_in_client(user: User, client: Client | None = None) -> Client:
    """A client signed in as ``user`` with both factors (the session holds the verified device and
    the sign-in time the idle timeout and lifetime count from)."""
    client = client or Client()
    client.force_login(user, backend=BACKEND)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
    sessions.signed_in(session)
    session.save()
    return client
