"""The staff sign-in, in two steps, in the admin's look.

1. Username and password (``authenticate`` gets the request, so django-axes counts failures and
   refuses a locked username and address). Nobody is signed in yet: the session only remembers
   who passed step 1, for five minutes.
2. A code. A user without a confirmed authenticator enrols one (a QR code, drawn here as SVG,
   and its secret as text), confirms it with a code and is shown ten recovery codes, once. A user
   with one types its current code, or a recovery code. Only then is the user signed in
   (``auth.login``) and the session marked verified (``django_otp.login``).

Every failure is journaled and counted by axes, the second factor's too.
"""

import base64
import functools

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import admin, auth
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django_otp import login as otp_login
from django_otp.middleware import is_verified as otp_is_verified

from apps.ops.staff import selectors, services, sessions
from apps.ops.staff.exceptions import SecondFactorRefused
from apps.ops.staff.forms import CodeForm, PasswordForm

WRONG_CREDENTIALS = "Please enter the correct username and password for a staff account. Both may be case-sensitive."


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return reverse("admin:index")


def _to(url_name: str, request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(url_name)}?{urlencode({'next': _next(request)})}")


def _page(request: HttpRequest, admin_site, template: str, status: int = 200, **context) -> HttpResponse:
    page = {**admin_site.each_context(request), "site_header": admin_site.site_header, "next": _next(request),
            "app_path": request.get_full_path(), **context}
    response = render(request, template, page, status=status)
    # Secrets and recovery codes must not stay in a cache or the browser's history.
    add_never_cache_headers(response)
    return response


def password_step(request: HttpRequest, admin_site) -> HttpResponse:
    """Step 1: username and password."""
    if request.method == "GET" and admin_site.has_permission(request):
        return HttpResponseRedirect(_next(request))
    form = PasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        user = auth.authenticate(request, username=username, password=form.cleaned_data["password"])
        if user is not None and user.is_staff:
            sessions.pending_start(request.session, user_id=user.pk, backend=user.backend)
            return _to("admin:staff_second_factor", request)
        locked_out = bool(getattr(request, "axes_locked_out", False))
        claimed = user or User.objects.filter(username=username).first()
        services.staff_login_failed_record(username=username, user=claimed, stage="password", locked_out=locked_out)
        if locked_out:
            return locked_out_page(request)
        form.add_error(None, WRONG_CREDENTIALS)
    return _page(request, admin_site, "admin/login.html", form=form, title="Log in", subtitle=None)


def second_factor_step(request: HttpRequest, admin_site) -> HttpResponse:
    """Step 2: enrol an authenticator, or type its code (or a recovery code)."""
    pending = sessions.pending_of(request.session)
    user = User.objects.filter(pk=pending[0], is_active=True, is_staff=True).first() if pending else None
    if user is None:  # none in progress, too old, or the account was deactivated meanwhile
        sessions.pending_end(request.session)
        return _to("admin:login", request)
    backend = pending[1]
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        sessions.pending_end(request.session)
        services.staff_login_failed_record(username=user.get_username(), user=user, stage="second_factor",
                                           locked_out=True)
        return locked_out_page(request)
    enrolling = selectors.confirmed_totp_device(user=user) is None
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            if enrolling:
                device, recovery_codes = services.totp_enrolment_confirm(user=user, code=code)
                method = "enrolment"
            else:
                device, method = services.second_factor_verify(user=user, code=code)
        except SecondFactorRefused as refused:
            # Counted by axes like a wrong password: five wrong codes lock the username too.
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            locked_out = bool(getattr(request, "axes_locked_out", False))
            services.staff_login_failed_record(username=user.get_username(), user=user, stage="second_factor",
                                               locked_out=locked_out)
            if locked_out:
                sessions.pending_end(request.session)
                return locked_out_page(request)
            form.add_error("code", str(refused))
        else:
            _sign_in(request, user, backend, device, method)
            if enrolling:
                return _page(request, admin_site, "admin/fincore/sign_in/recovery_codes.html",
                             title="Your recovery codes", recovery_codes=recovery_codes)
            return HttpResponseRedirect(_next(request))
    if enrolling:
        device = services.totp_enrolment_device(user=user)
        # Markup segno writes itself from the device's otpauth:// URL; drawn here, so no image of
        # the secret is fetched from anywhere.
        qr_svg = mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=4))
        return _page(request, admin_site, "admin/fincore/sign_in/enrol.html", form=form,
                     title="Set up two-factor sign-in", staff_username=user.get_username(), qr_svg=qr_svg,
                     secret=_grouped(base64.b32encode(device.bin_key).decode()))
    return _page(request, admin_site, "admin/fincore/sign_in/code.html", form=form, title="Two-factor sign-in",
                 staff_username=user.get_username())


def _sign_in(request: HttpRequest, user: User, backend: str, device, method: str) -> None:
    sessions.pending_end(request.session)
    auth.login(request, user, backend=backend)
    otp_login(request, device)
    # What OTPMiddleware gives every later request's user, for the rest of this one.
    user.is_verified = functools.partial(otp_is_verified, user)
    sessions.signed_in(request.session)
    services.staff_login_record(user=user, method=method)


def _grouped(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def locked_out_page(request: HttpRequest, original_response: HttpResponse | None = None,
                    credentials: dict | None = None) -> HttpResponse:
    """The lockout page, in the admin's look (also django-axes' AXES_LOCKOUT_CALLABLE)."""
    cool_off = get_cool_off(request) or settings.AXES_COOLOFF_TIME
    response = render(request, "admin/fincore/sign_in/locked_out.html", {
        **admin.site.each_context(request), "title": "Sign-in locked", "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cool_off_minutes": int(cool_off.total_seconds() // 60),
    }, status=settings.AXES_HTTP_RESPONSE_CODE)
    add_never_cache_headers(response)
    return response
