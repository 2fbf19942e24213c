"""Alerts and cases in the admin: the officer's workplace.

The lists filter by status, severity, assignee and rule. A case's page is its file: the timeline
(alerts with their evidence, notes, attachments, maker-checker requests made from it, its
journal), the subject's recent payments and transfers, and one POST form per piece of work —
assign, note, attach, investigate or escalate, close with a disposition, release or decline a
hold, request an action of the subject through maker-checker. Each form has a stable id and its
button a stable label, for people and for the browser tests. The work itself is
``apps.compliance.cases.services``; every refusal is shown as a message.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from apps.compliance.admin_requests import approval_requested_message
from apps.compliance.cases import selectors, services
from apps.compliance.models import Alert, Case, CaseAttachment, MonitoredEvent, StrReport
from apps.compliance.monitoring.observations import PUBLIC_PREFIXES
from apps.core import clock, ids
from apps.core.admin_money import money_html
from apps.core.admin_readonly import ReadOnlyModelAdmin
from apps.core.exceptions import FincoreError
from apps.core.money import Money

SEVERITY_CLASS = "severity-{}"
# Granted with the case work roles (migration 0006): officers and supervisors, not support.
NOTE_VIEW, ATTACHMENT_VIEW, STR_VIEW = ("compliance.view_casenote", "compliance.view_caseattachment",
                                        "compliance.view_strreport")


def _severity_html(obj: Alert | Case) -> str:
    return format_html('<span class="{}">{}</span>', SEVERITY_CLASS.format(obj.severity), obj.get_severity_display())


# Evidence figures that are amounts in the event's currency (minor units), shown as money.
_MONEY_FIGURES = {"amount", "total", "min_amount", "multiple", "refunds", "payments", "band"}


def _figure(key: str, value: Any, currency: str) -> str:
    if currency and key in _MONEY_FIGURES:
        if isinstance(value, int) and not isinstance(value, bool):
            return Money(value, currency).format()
        if isinstance(value, list) and len(value) == 2 and all(isinstance(part, int) for part in value):
            return f"{Money(value[0], currency).format()} to {Money(value[1], currency).format()}"
    if isinstance(value, list):
        return ", ".join(str(part) for part in value)
    if isinstance(value, dict):
        return "; ".join(f"{name.replace('_', ' ')} {_figure(name, part, currency)}" for name, part in value.items())
    return str(value)


def evidence_rows(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    """An alert's evidence as an officer reads it: the movement that tripped the rule, then the
    figures it found and the parameters it applied, amounts as money."""
    event = evidence.get("event") if isinstance(evidence.get("event"), dict) else None
    currency = event.get("currency", "") if event else ""
    rows = []
    if event:
        when = datetime.fromisoformat(event["occurred_at"]) if event.get("occurred_at") else None
        parts = [f"{event.get('kind', '')} {event.get('public_id', '')}".strip(), event.get("money", ""),
                 event.get("country", ""), date_format(localtime(when), "DATETIME_FORMAT") if when else ""]
        rows.append(("Movement", ", ".join(part for part in parts if part)))
    for section, values in evidence.items():
        if section == "event":
            continue
        title = section.replace("_", " ").capitalize()
        if isinstance(values, dict):
            rows.append((title, "; ".join(f"{key.replace('_', ' ')} {_figure(key, value, currency)}"
                                          for key, value in values.items()) or "none"))
        else:
            rows.append((title, _figure(section, values, currency)))
    return rows


def _activity_id(event: MonitoredEvent) -> str:
    prefix = PUBLIC_PREFIXES.get(event.source)
    return ids.encode(prefix, UUID(event.source_id)) if prefix else event.source_id


def case_link(case: Case) -> str:
    return format_html('<a href="{}">{}</a>', reverse("admin:compliance_case_change", args=[case.pk]),
                       ids.encode("case", case.pk))


class AssigneeFilter(admin.SimpleListFilter):
    title = "assignee"
    parameter_name = "assignee"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        users = get_user_model().objects.filter(pk__in=Case.objects.exclude(assignee=None).values("assignee"))
        return [("none", "Nobody"), *((str(user.pk), user.get_username()) for user in users.order_by("username"))]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "none":
            return queryset.filter(assignee=None)
        if self.value():
            return queryset.filter(assignee_id=self.value())
        return queryset


@admin.register(Alert)
class AlertAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "rule", "subject_label", "severity_shown", "status", "hold_state", "case_shown")
    list_filter = ("status", "severity", "rule", "hold_state", "subject_type")
    search_fields = ("subject_label", "subject_id", "event_key")
    date_hierarchy = "created_at"
    list_select_related = ("rule", "case")

    @admin.display(description="Severity", ordering="severity")
    def severity_shown(self, alert: Alert) -> str:
        return _severity_html(alert)

    @admin.display(description="Case")
    def case_shown(self, alert: Alert) -> str:
        return case_link(alert.case)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False,
                                      empty_label="Nobody")
    reason = forms.CharField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        workers = get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")
        self.fields["assignee"].queryset = workers


@admin.register(Case)
class CaseAdmin(ReadOnlyModelAdmin):
    list_display = ("public_id", "subject_label", "subject_type", "severity_shown", "status", "assignee",
                    "opened_at", "due_at", "overdue")
    list_filter = ("status", "severity", AssigneeFilter, ("alerts__rule", admin.RelatedOnlyFieldListFilter),
                   "disposition", "subject_type")
    search_fields = ("subject_label", "subject_id")
    date_hierarchy = "opened_at"
    list_select_related = ("assignee",)

    @admin.display(description="Case")
    def public_id(self, case: Case) -> str:
        return ids.encode("case", case.pk)

    @admin.display(description="Severity", ordering="severity")
    def severity_shown(self, case: Case) -> str:
        return _severity_html(case)

    @admin.display(description="Overdue", boolean=True)
    def overdue(self, case: Case) -> bool:
        return case.status != Case.Status.CLOSED and case.due_at <= clock.now()

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).distinct()

    # --- the case's page ---------------------------------------------------------------------------

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/work/<str:step>/", view(self.work_view), name="compliance_case_work"),
            path("<path:object_id>/str/", view(self.str_view), name="compliance_case_str"),
            path("<path:object_id>/attachment/<uuid:attachment_id>/", view(self.attachment_view),
                 name="compliance_case_attachment"),
            *super().get_urls(),
        ]

    def _case(self, request: HttpRequest, object_id: str, permission: str = "") -> Case:
        """The case, for a role that may view cases and, if named, holds ``permission`` too (the
        case's own pages are reached by URL as well as from its page: each checks who asks)."""
        if not self.has_view_permission(request) or (permission and not request.user.has_perm(permission)):
            raise PermissionDenied
        case = self.get_object(request, unquote(object_id))
        if case is None:
            raise Http404("No such case.")
        return case

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        case = self._case(request, object_id)
        may_change = self.has_change_permission(request, case)
        if request.method == "POST" and not may_change:
            # As Django's own object pages: nothing is saved here (the work is posted to work/).
            raise PermissionDenied
        activity = selectors.subject_activity(case)
        # Notes, attachments and the STR are shown to the roles that may read them (support sees
        # the case and its alerts, not the officers' findings).
        user = request.user
        readable = {"note": user.has_perm(NOTE_VIEW), "attachment": user.has_perm(ATTACHMENT_VIEW)}
        timeline = [entry for entry in selectors.case_timeline(case) if readable.get(entry.kind, True)]
        for entry in timeline:
            if entry.kind == "alert":
                entry.item.evidence_rows = evidence_rows(entry.item.evidence)
        may_work = request.user.has_perm(services.WORK_PERMISSION) and case.status != Case.Status.CLOSED
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "original": case, "case": case,
            "title": str(case), "public_id": ids.encode("case", case.pk), "timeline": timeline,
            "has_change_permission": may_change,
            "activity": [(event, _activity_id(event), money_html(event.amount, event.currency))
                         for event in activity],
            "may_work": may_work, "assign_form": AssignForm(initial={"assignee": case.assignee_id}),
            "next_statuses": [(status, Case.Status(status).label) for status in Case.Status.values
                              if status in services.TRANSITIONS[case.status] and status != Case.Status.CLOSED],
            "may_close": Case.Status.CLOSED in services.TRANSITIONS[case.status],
            "dispositions": Case.Disposition.choices,
            # Form ids by the action's name: "case-action-ledger-account-freeze".
            "actions": [(name, label, "case-action-" + name.replace(".", "-").replace("_", "-"))
                        for name, label, _ in services.case_actions(case)] if may_work else [],
            "str_report": StrReport.objects.filter(case=case).only("pk", "filename", "sha256").first()
            if user.has_perm(STR_VIEW) else None,
            "attachment_limit": services.ATTACHMENT_MAX_BYTES,
        }
        return TemplateResponse(request, "admin/compliance/case/case.html", context)

    def work_view(self, request: HttpRequest, object_id: str, step: str) -> HttpResponse:
        """One piece of work, POSTed from the case's page; back to the page with what became of it."""
        if request.method != "POST":
            raise Http404("Case work is posted from the case's page.")
        case = self._case(request, object_id, services.WORK_PERMISSION)
        page = reverse("admin:compliance_case_change", args=[case.pk])
        data, user = request.POST, request.user
        reason = data.get("reason", "")
        try:
            if step == "assign":
                form = AssignForm(data)
                if not form.is_valid():
                    raise services.InvalidCaseWork("Choose someone who may work cases.")
                services.case_assign(case_id=case.pk, user=user, assignee=form.cleaned_data["assignee"],
                                     reason=reason)
                done = "Assigned."
            elif step == "note":
                services.case_note_add(case_id=case.pk, user=user, body=data.get("body", ""))
                done = "Note added."
            elif step == "attach":
                upload = request.FILES.get("file")
                if upload is None:
                    raise services.InvalidCaseWork("Choose a file.")
                if upload.size > services.ATTACHMENT_MAX_BYTES:
                    raise services.InvalidCaseWork(
                        f"The file is {upload.size} bytes; at most {services.ATTACHMENT_MAX_BYTES} may be attached.")
                services.case_attachment_add(case_id=case.pk, user=user, filename=upload.name,
                                             content_type=upload.content_type or "", content=upload.read())
                done = f"{upload.name} attached."
            elif step == "status":
                services.case_status_change(case_id=case.pk, user=user, status=data.get("status", ""),
                                            reason=reason)
                done = "Status changed."
            elif step == "close":
                services.case_close(case_id=case.pk, user=user, disposition=data.get("disposition", ""),
                                    reason=reason)
                done = "Case closed."
            elif step in ("release", "decline"):
                alert = case.alerts.filter(pk=data.get("alert")).first()
                if alert is None:
                    raise Http404("No such alert on this case.")
                decide = services.alert_hold_release if step == "release" else services.alert_hold_decline
                decide(alert_id=alert.pk, user=user, reason=reason)
                done = f"Hold {'released' if step == 'release' else 'declined'}."
            elif step == "action":
                approval_request = services.case_action_request(case_id=case.pk, user=user,
                                                                action=data.get("action", ""), reason=reason)
                approval_requested_message(request, approval_request)
                done = ""
            else:
                raise Http404("No such case work.")
        except FincoreError as refused:
            self.message_user(request, f"Refused: {refused.detail}", messages.ERROR)
        else:
            if done:
                self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(page)

    def str_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The filed STR, as generated (XML)."""
        case = self._case(request, object_id, STR_VIEW)
        report = StrReport.objects.filter(case=case).first()
        if report is None:
            raise Http404("The case has no STR.")
        response = HttpResponse(bytes(report.content), content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{report.filename}"'
        return response

    def attachment_view(self, request: HttpRequest, object_id: str, attachment_id: Any) -> HttpResponse:
        case = self._case(request, object_id, ATTACHMENT_VIEW)
        attachment = CaseAttachment.objects.filter(case=case, pk=attachment_id).first()
        if attachment is None:
            raise Http404("No such attachment.")
        response = HttpResponse(bytes(attachment.content), content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="{attachment.filename}"'
        return response
