"""The back office's admin site: Django's admin, arranged as the staff's workplace.

It is the default site (``FincoreAdminConfig.default_site``), so every app keeps registering its
screens with ``@admin.register`` on ``django.contrib.admin.site``.

- No page answers a staff user who has not signed in with both factors (a password, then a code
  from an authenticator app or a recovery code): see :mod:`apps.ops.staff.views`.
- The index is the dashboard (``apps.ops.dashboard``): the figures of each role's work, each tile
  linking to the list behind it. "View site" leads there too: the back office has no other site.
- The navigation (the index's list and every page's sidebar) is grouped by the work: Payments,
  Ledger, Merchants, Compliance, Treasury, Operations, Audit (``apps.ops.navigation``).
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from apps.ops import navigation


class FincoreAdminSite(admin.AdminSite):
    site_header = "fincore back office"
    site_title = "fincore"
    index_title = "Dashboard"
    site_url = reverse_lazy("admin:index")

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        """The sections of ``apps.ops.navigation``; for one app's page (``/admin/<app_label>/``),
        Django's list of that app's models."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        return navigation.sections(self._build_app_dict(request).values(), request.path)

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        """The dashboard: the tiles the user's roles may see."""
        # Imported here: this module is loaded with INSTALLED_APPS (FincoreAdminConfig), before
        # the models the tiles read can be.
        from apps.ops import dashboard

        tiles = dashboard.dashboard_tiles(request.user)
        return super().index(request, extra_context={"tiles": tiles, **(extra_context or {})})

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
