"""Staff sign-in: the second factor (enrolment, codes, recovery codes), device resets, releasing
a login lock, and the journal of every sign-in, sign-out and failed attempt.

Every function owns its transaction and journals what it did in it (actor type ``staff``).
"""

from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.services import audit_record
from apps.core.actors import Actor, ActorType
from apps.ops.staff import selectors
from apps.ops.staff.exceptions import LockNotFound, SecondFactorRefused

RECOVERY_CODES = 10
TOTP_DIGITS = 6
# What a username typed at the login page may put in the journal.
_USERNAME_MAX = 150


def _journal(*, actor: Actor, action: str, user: User | None, after: dict | None = None,
             before: dict | None = None, reason: str = "") -> None:
    audit_record(actor=actor, action=action, object_type="auth.user", object_id=str(user.pk) if user else "",
                 before=before, after=after, reason=reason)


def staff_login_failed_record(*, username: str, user: User | None, stage: str, locked_out: bool) -> None:
    """Journal a refused sign-in step: ``stage`` is ``password``, ``second_factor`` or ``locked``
    (refused unseen because the username and address are locked). The actor is whoever claimed the
    username: its user when one exists."""
    claimed = username[:_USERNAME_MAX]
    actor = Actor(ActorType.STAFF, str(user.pk) if user else "", claimed)
    with transaction.atomic():
        _journal(actor=actor, action="staff.login_failed", user=user,
                 after={"username": claimed, "stage": stage, "locked_out": locked_out})


def staff_login_record(*, user: User, method: str) -> None:
    """Journal a completed sign-in (password and second factor); ``method`` says which second
    factor: ``totp``, ``recovery_code`` or ``enrolment``."""
    after = {"method": method}
    if method == "recovery_code":
        after["recovery_codes_left"] = selectors.recovery_codes_left(user=user)
    with transaction.atomic():
        _journal(actor=Actor.staff(user), action="staff.logged_in", user=user, after=after)


def staff_logout_record(*, user: User, cause: str) -> None:
    """Journal the end of a staff session: ``cause`` is ``logout`` (the user signed out), ``idle``
    (no request for the idle timeout) or ``lifetime`` (the absolute session lifetime passed)."""
    action = "staff.logged_out" if cause == "logout" else "staff.session_expired"
    with transaction.atomic():
        _journal(actor=Actor.staff(user), action=action, user=user, after={"cause": cause})


def totp_enrolment_device(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator device a user without a confirmed one enrols: the same one
    until it is confirmed, so reloading the page shows the same secret."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
        return device


def totp_enrolment_confirm(*, user: User, code: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the user's enrolment with a code from the new authenticator and issue fresh
    recovery codes (single use, replacing any older ones). Returns the device and the codes, which
    are shown once and never again.

    Raises SecondFactorRefused: the code does not match (nothing is confirmed).
    """
    with transaction.atomic():
        device = (TOTPDevice.objects.select_for_update()
                  .filter(user=user, confirmed=False).order_by("pk").first())
        if device is None or not _is_totp_code(code) or not device.verify_token(code):
            raise SecondFactorRefused("That code does not match the new authenticator.")
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=user).delete()
        recovery = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=recovery, token=code) for code in codes)
        _journal(actor=Actor.staff(user), action="staff.two_factor_enrolled", user=user,
                 after={"device": device.persistent_id, "recovery_codes": RECOVERY_CODES})
    return device, codes


def second_factor_verify(*, user: User, code: str) -> tuple[Device, str]:
    """Check a code from the user's authenticator (six digits) or one of their recovery codes,
    which is used up. Returns the device that accepted it and ``totp`` or ``recovery_code``.

    A TOTP code is accepted once: the same code (or an older one) is refused after it was used.
    Raises SecondFactorRefused: wrong, reused, or the device is throttled after wrong codes.
    """
    code = "".join(code.split()).lower()
    with transaction.atomic():
        if _is_totp_code(code):
            device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk").first()
            method = "totp"
        else:
            device = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk").first()
            method = "recovery_code"
        if device is not None and device.verify_token(code):
            return device, method
    raise SecondFactorRefused("That code is not valid.")


def staff_two_factor_reset(*, user_id: int, actor: Actor, reason: str) -> None:
    """Remove a staff user's authenticator and recovery codes: their session loses its second
    factor at once, and their next sign-in enrols a new authenticator. Journaled with who and why.
    """
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        totp = TOTPDevice.objects.filter(user=user)
        recovery = StaticToken.objects.filter(device__user=user)
        before = {"authenticators": totp.count(), "recovery_codes": recovery.count()}
        totp.delete()
        StaticDevice.objects.filter(user=user).delete()
        _journal(actor=actor, action="staff.two_factor_reset", user=user, before=before,
                 after={"authenticators": 0, "recovery_codes": 0}, reason=reason)


def staff_login_lock_release(*, attempt_id: int, actor: Actor, reason: str) -> selectors.LoginLock:
    """Release the lock (and forget the failures) of the username and address of one failed-login
    record, whatever browser they came from. The failure log keeps every attempt. Journaled.

    Raises LockNotFound: the record is gone (released already, or expired and cleaned up).
    """
    with transaction.atomic():
        attempt = AccessAttempt.objects.select_for_update().filter(pk=attempt_id).first()
        if attempt is None:
            raise LockNotFound("That failed-login record is already released.")
        lock = selectors.login_lock_of(attempt)
        AccessAttempt.objects.filter(username=attempt.username, ip_address=attempt.ip_address).delete()
        user = User.objects.filter(username=attempt.username).first()
        _journal(actor=actor, action="staff.login_lock_released", user=user, reason=reason,
                 before={"username": lock.username, "ip_address": lock.ip_address, "failures": lock.failures,
                         "locked_until": lock.locked_until})
    return lock


def _is_totp_code(code: str) -> bool:
    return len(code) == TOTP_DIGITS and code.isascii() and code.isdigit()
