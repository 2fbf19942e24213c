"""Ends a staff session that has been idle too long or has reached its lifetime."""

from collections.abc import Callable

from django.conf import settings
from django.contrib import auth, messages
from django.http import HttpRequest, HttpResponse

from apps.ops.staff import services, sessions

_WHY = {
    "idle": "Your session ended after {minutes} minutes without activity. Please sign in again.",
    "lifetime": "Your session reached its limit of {hours} hours. Please sign in again.",
}


class StaffSessionMiddleware:
    """After authentication: a signed-in user whose session is past the idle timeout
    (``FINCORE_ADMIN_IDLE_TIMEOUT_MINUTES``) or its lifetime since signing in
    (``FINCORE_ADMIN_SESSION_HOURS``) is signed out, with the reason journaled, before the view
    runs; otherwise the session's last activity moves to now."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            cause = sessions.expiry_cause(request.session, idle_timeout=settings.FINCORE_ADMIN_IDLE_TIMEOUT,
                                          lifetime=settings.FINCORE_ADMIN_SESSION_LIFETIME)
            if cause is None:
                sessions.seen(request.session)
            else:
                services.staff_logout_record(user=user, cause=cause)
                auth.logout(request)
                messages.warning(request, _WHY[cause].format(
                    minutes=int(settings.FINCORE_ADMIN_IDLE_TIMEOUT.total_seconds() // 60),
                    hours=int(settings.FINCORE_ADMIN_SESSION_LIFETIME.total_seconds() // 3600),
                ))
        return self.get_response(request)
