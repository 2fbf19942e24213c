"""A staff user's admin session: the sign-in in progress between its two steps, and when the
signed-in session began and was last used (the idle timeout and the lifetime read them)."""

from datetime import timedelta

from django.contrib.sessions.backends.base import SessionBase

from apps.core import clock

# Between the password and the second factor: who, through which backend, since when.
PENDING = "fincore_staff_sign_in"
PENDING_FOR = timedelta(minutes=5)
SIGNED_IN_AT = "fincore_staff_signed_in_at"
LAST_SEEN_AT = "fincore_staff_last_seen_at"
SEEN_GRANULARITY = timedelta(minutes=1)


def pending_start(session: SessionBase, *, user_id: int, backend: str) -> None:
    # A new session key: the half-signed-in session is not the one a visitor may have planted.
    session.cycle_key()
    session[PENDING] = {"user_id": user_id, "backend": backend, "started_at": clock.now().timestamp()}


def pending_of(session: SessionBase) -> tuple[int, str] | None:
    """The user id and backend of the sign-in in progress, unless there is none or it is too old."""
    pending = session.get(PENDING)
    if not pending:
        return None
    if clock.now().timestamp() - pending["started_at"] > PENDING_FOR.total_seconds():
        del session[PENDING]
        return None
    return pending["user_id"], pending["backend"]


def pending_end(session: SessionBase) -> None:
    session.pop(PENDING, None)


def signed_in(session: SessionBase) -> None:
    now = clock.now().timestamp()
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN_AT] = now


def expiry_cause(session: SessionBase, *, idle_timeout: timedelta, lifetime: timedelta) -> str | None:
    """``lifetime`` or ``idle`` when the session has ended (a session that never signed in through
    both factors has no times, and has ended too); None while it lasts."""
    signed_in_at, last_seen_at = session.get(SIGNED_IN_AT), session.get(LAST_SEEN_AT)
    now = clock.now().timestamp()
    if signed_in_at is None or last_seen_at is None or now - signed_in_at >= lifetime.total_seconds():
        return "lifetime"
    if now - last_seen_at >= idle_timeout.total_seconds():
        return "idle"
    return None


def seen(session: SessionBase) -> None:
    """Note activity now. Written at most once a minute (the timeout is counted in minutes), so a
    page view does not write its session row every time."""
    now = clock.now().timestamp()
    if now - session.get(LAST_SEEN_AT, 0) >= SEEN_GRANULARITY.total_seconds():
        session[LAST_SEEN_AT] = now
