"""The back office's admin site: Django's admin, arranged as the staff's workplace.

It is the default site (``FincoreAdminConfig.default_site``), so every app keeps registering its
screens with ``@admin.register`` on ``django.contrib.admin.site``.

No page answers a staff user who has not signed in with both factors (a password, then a code
from an authenticator app or a recovery code): see :mod:`apps.ops.staff.views`.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache


class FincoreAdminSite(admin.AdminSite):
    site_header = "fincore back office"
    site_title = "fincore"
    index_title = "Operations"

    # --- staff sign-in (two factors, lockout, journaled sign-out) -----------------------------

    def has_permission(self, request: HttpRequest) -> bool:
        """An active staff user whose session passed the second factor (django-otp)."""
        user = request.user
        return user.is_active and user.is_staff and user.is_verified()

    # The sign-in modules use models; this module is imported while the app registry is still
    # loading (FincoreAdminConfig), so they are imported when a request needs them.

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        from apps.ops.staff import views

        request.current_app = self.name
        return views.password_step(request, self)

    @method_decorator(never_cache)
    def second_factor(self, request: HttpRequest) -> HttpResponse:
        from apps.ops.staff import views

        request.current_app = self.name
        return views.second_factor_step(request, self)

    def logout(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        from apps.ops.staff import services

        if request.method == "POST" and request.user.is_authenticated:
            services.staff_logout_record(user=request.user, cause="logout")
        return super().logout(request, extra_context)

    def get_urls(self):
        return [
            path("login/code/", self.second_factor, name="staff_second_factor"),
            *super().get_urls(),
        ]


class FincoreAdminConfig(AdminConfig):
    """Installs :class:`FincoreAdminSite` as Django's default site (``admin.site``)."""

    default_site = "apps.ops.admin_site.FincoreAdminSite"
