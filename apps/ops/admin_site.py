"""The back office's admin site: Django's admin, arranged as the staff's workplace.

It is the default site (``FincoreAdminConfig.default_site``), so every app keeps registering its
screens with ``@admin.register`` on ``django.contrib.admin.site``.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class FincoreAdminSite(admin.AdminSite):
    site_header = "fincore back office"
    site_title = "fincore"
    index_title = "Operations"


class FincoreAdminConfig(AdminConfig):
    """Installs :class:`FincoreAdminSite` as Django's default site (``admin.site``)."""

    default_site = "apps.ops.admin_site.FincoreAdminSite"
