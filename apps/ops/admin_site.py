"""The back office's admin site: Django's admin, arranged as the staff's workplace.

It is the default site (``FincoreAdminConfig.default_site``), so every app keeps registering its
screens with ``@admin.register`` on ``django.contrib.admin.site``.

- The index is the dashboard (``apps.ops.dashboard``): the figures of each role's work, each tile
  linking to the list behind it. "View site" leads there too: the back office has no other site.
- The navigation (the index's list and every page's sidebar) is grouped by the work: Payments,
  Ledger, Merchants, Compliance, Treasury, Operations, Audit (``apps.ops.navigation``).
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse_lazy

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


class FincoreAdminConfig(AdminConfig):
    """Installs :class:`FincoreAdminSite` as Django's default site (``admin.site``)."""

    default_site = "apps.ops.admin_site.FincoreAdminSite"
