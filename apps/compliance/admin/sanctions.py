"""Sanctions screening in the admin: the lists and their imported versions (with "Import a list
version", the upload form, and each version's re-screen progress), the entries of each version,
the screening hits (each with "Clear this hit", the allow-list request page: a maker-checker
request a supervisor approves), and the allow-list. All read only: lists change by import, the
allow-list by approved request."""

import uuid
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.compliance.admin_requests import approval_request_from_form
from apps.compliance.models import (
    SanctionsAllowListEntry,
    SanctionsEntry,
    SanctionsList,
    SanctionsListVersion,
    SanctionsRescreen,
    ScreeningHit,
)
from apps.compliance.sanctions import imports
from apps.compliance.sanctions.allow_list import MAX_ALLOW_DAYS, SANCTIONS_ALLOW_LIST
from apps.core import clock
from apps.core.actors import Actor
from apps.core.admin_readonly import ReadOnlyModelAdmin
from apps.core.exceptions import FincoreError

FORM_TEMPLATE = "admin/compliance/sanctions_form.html"
MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # the UN list is a few MB, OFAC's sdn.xml under 100 MB


def _progress(rescreen: SanctionsRescreen | None) -> str:
    if rescreen is None:
        return "-"
    if rescreen.finished_at is not None:
        return f"done: {rescreen.screened} merchants, {rescreen.hits} hits"
    percent = 100 * rescreen.screened // rescreen.total if rescreen.total else 0
    return f"{rescreen.screened} of {rescreen.total} merchants ({percent} %), {rescreen.hits} hits so far"


@admin.register(SanctionsList)
class SanctionsListAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "source", "threshold")
    fields = ("name", "source", "threshold")
    readonly_fields = fields


class ListImportForm(forms.Form):
    source = forms.ChoiceField(choices=SanctionsList.Source.choices)
    file = forms.FileField(help_text="As downloaded from the official source: the UN's consolidated.xml, "
                                     "OFAC's sdn.xml, or the national list's CSV.")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("This file is larger than any sanctions list.")
        return upload


@admin.register(SanctionsListVersion)
class SanctionsListVersionAdmin(ReadOnlyModelAdmin):
    list_display = ("__str__", "imported_at", "imported_by", "entries_count", "added_count", "removed_count",
                    "changed_count", "rescreen_progress")
    list_filter = ("sanctions_list",)
    list_select_related = ("sanctions_list", "rescreen")
    fields = ("sanctions_list", "number", "file_name", "file_sha256", "imported_at", "imported_by", "entries_count",
              "added_count", "removed_count", "changed_count", "rescreen_progress")
    readonly_fields = fields

    @admin.display(description="Re-screen of merchants")
    def rescreen_progress(self, version: SanctionsListVersion) -> str:
        return _progress(getattr(version, "rescreen", None))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        links = [("Import a list version", reverse("admin:compliance_sanctionslistversion_import"))] \
            if request.user.has_perm("compliance.import_sanctions_list") else []
        return super().changelist_view(request, {**(extra_context or {}), "object_tools_links": links})

    def get_urls(self) -> list:
        return [path("import/", self.admin_site.admin_view(self.import_view),
                     name="compliance_sanctionslistversion_import"), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a list file: imported as the list's next version, or refused with its line and
        reason (nothing is written then)."""
        if not request.user.has_perm("compliance.import_sanctions_list"):
            raise PermissionDenied
        form = ListImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                version = imports.sanctions_list_import(source=form.cleaned_data["source"], content=upload.read(),
                                                        file_name=upload.name, actor=Actor.staff(request.user))
            except FincoreError as refused:
                form.add_error("file", refused.detail)
            else:
                messages.success(request, f"Imported {version}: {version.entries_count} entries, "
                                          f"{version.added_count} added, {version.removed_count} removed, "
                                          f"{version.changed_count} changed. Every merchant is being re-screened.")
                return HttpResponseRedirect(reverse("admin:compliance_sanctionslistversion_change",
                                                    args=[version.pk]))
        return TemplateResponse(request, FORM_TEMPLATE, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": "Import a list version",
            "form": form, "submit_label": "Import",
            "summary": [("What happens", "The file becomes the list's next version; the merchants are then "
                                         "re-screened against it. A malformed file is refused whole.")],
        })


@admin.register(SanctionsEntry)
class SanctionsEntryAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "reference", "kind", "version")
    list_filter = ("version__sanctions_list", "kind")
    list_select_related = ("version__sanctions_list",)
    search_fields = ("name", "reference")
    fields = ("version", "reference", "kind", "name", "aliases", "dates_of_birth", "nationalities", "identifiers",
              "programmes")
    readonly_fields = fields


class AllowListRequestForm(forms.Form):
    expires_on = forms.DateField(help_text=f"YYYY-MM-DD, within {MAX_ALLOW_DAYS} days: the hit alerts again then.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text="Why this is not the listed party (the evidence): the checker and the "
                                       "journal read it.")


@admin.register(ScreeningHit)
class ScreeningHitAdmin(ReadOnlyModelAdmin):
    list_display = ("screened_at", "subject_label", "subject_type", "entry", "list_version", "score", "occasion",
                    "alert_link", "allow_listed_by")
    list_filter = ("subject_type", "occasion", "version__sanctions_list")
    list_select_related = ("entry", "version__sanctions_list", "alert", "allow_listed_by")
    search_fields = ("subject_label", "subject_id", "screened_name", "entry__name", "entry__reference")
    fields = ("subject_type", "subject_id", "subject_label", "screened_name", "version", "entry", "score",
              "matched_fields", "occasion", "screened_at", "alert_link", "allow_listed_by", "allow_list_link")
    readonly_fields = fields

    @admin.display(description="List version", ordering="version")
    def list_version(self, hit: ScreeningHit) -> str:
        return str(hit.version)

    @admin.display(description="Alert")
    def alert_link(self, hit: ScreeningHit) -> str:
        # The alert's page is the case workplace's (compliance.admin.cases): found there by case.
        if hit.alert_id is None:
            return "-"
        return f"{hit.alert.get_severity_display()} alert, case {hit.alert.case_id}"

    @admin.display(description="Allow-list")
    def allow_list_link(self, hit: ScreeningHit) -> str:
        url = reverse("admin:compliance_screeninghit_allow_list")
        return format_html('<a href="{}?{}" id="clear-hit">Clear this hit (request an allow-list entry)</a>', url,
                           urlencode({"hit": hit.pk}))

    def get_urls(self) -> list:
        return [path("allow-list/", self.admin_site.admin_view(self.allow_list_view),
                     name="compliance_screeninghit_allow_list"), *super().get_urls()]

    def allow_list_view(self, request: HttpRequest) -> HttpResponse:
        """Ask for a hit to be cleared until a day: a maker-checker request, nothing changes yet."""
        if not request.user.has_perm("compliance.request_sanctions_allow_list"):
            raise PermissionDenied
        hit = (ScreeningHit.objects.select_related("entry", "version__sanctions_list")
               .filter(pk=request.GET["hit"]).first()) if _is_uuid(request.GET.get("hit")) else None
        if hit is None:
            messages.info(request, "Open a screening hit and choose “Clear this hit” on its page.")
            return HttpResponseRedirect(reverse("admin:compliance_screeninghit_changelist"))
        form = AllowListRequestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            approval = approval_request_from_form(
                request, form, action=SANCTIONS_ALLOW_LIST, reason=form.cleaned_data["reason"],
                arguments={"hit_id": str(hit.pk), "expires_on": form.cleaned_data["expires_on"].isoformat()})
            if approval is not None:
                return HttpResponseRedirect(reverse("admin:compliance_approvalrequest_change", args=[approval.pk]))
        return TemplateResponse(request, FORM_TEMPLATE, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": "Clear a sanctions hit",
            "form": form, "submit_label": "Request",
            "summary": [("Subject", hit.subject_label), ("Listed entry", f"{hit.entry.name} ({hit.entry.reference})"),
                        ("List", str(hit.version)), ("Score", str(hit.score)),
                        ("What happens", "A compliance supervisor approves the request; until the day it expires, "
                                         "screening this subject records this entry's hits but raises no alert.")],
        })


def _is_uuid(text: str | None) -> bool:
    try:
        uuid.UUID(text or "")
    except ValueError:
        return False
    return True


@admin.register(SanctionsAllowListEntry)
class SanctionsAllowListEntryAdmin(ReadOnlyModelAdmin):
    list_display = ("subject_label", "entry_name", "entry_reference", "sanctions_list", "expires_at", "active",
                    "approved_by")
    list_filter = ("sanctions_list", "subject_type")
    list_select_related = ("sanctions_list",)
    search_fields = ("subject_label", "subject_id", "entry_name", "entry_reference")
    fields = ("subject_type", "subject_id", "subject_label", "sanctions_list", "entry_reference", "entry_name",
              "reason", "created_at", "expires_at", "approved_by")
    readonly_fields = fields

    @admin.display(description="In force", boolean=True)
    def active(self, allowed: SanctionsAllowListEntry) -> bool:
        return allowed.expires_at > clock.now()


@admin.register(SanctionsRescreen)
class SanctionsRescreenAdmin(ReadOnlyModelAdmin):
    list_display = ("version", "progress", "started_at", "finished_at")
    list_select_related = ("version__sanctions_list",)
    fields = ("version", "progress", "total", "screened", "hits", "started_at", "finished_at")
    readonly_fields = fields

    @admin.display(description="Progress")
    def progress(self, rescreen: SanctionsRescreen) -> str:
        return _progress(rescreen)
