"""Reads about staff sign-in: second-factor devices and login locks."""

from dataclasses import dataclass
from datetime import datetime

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice


def confirmed_totp_device(*, user: User) -> TOTPDevice | None:
    """The authenticator app the user confirmed at enrolment, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def recovery_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def recovery_device(*, user: User) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


@dataclass(frozen=True)
class LoginLock:
    username: str
    ip_address: str | None
    failures: int
    last_failure_at: datetime
    locked_until: datetime


def login_lock_of(attempt: AccessAttempt) -> LoginLock:
    """The lock an attempt row stands for: every user agent of one username and address counts."""
    rows = AccessAttempt.objects.filter(username=attempt.username, ip_address=attempt.ip_address)
    failures = sum(row.failures_since_start for row in rows)
    last = max(row.attempt_time for row in rows)
    return LoginLock(attempt.username, attempt.ip_address, failures, last, last + settings.AXES_COOLOFF_TIME)
