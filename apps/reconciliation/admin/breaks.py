"""The exception queue in the admin: breaks (open ones first), each break's page with its line or
expectation, counterparts it could be linked with in one click, its comments, and one POST form
per piece of work (assign, comment, ignore, link, request an adjustment through maker-checker).
Balance proofs are listed read only. The work itself is ``apps.reconciliation.services.breaks``;
every refusal is shown as a message."""

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.audit.admin_export import CsvExportMixin
from apps.compliance import services as compliance_services
from apps.compliance.admin_requests import approval_requested_message
from apps.core import clock
from apps.core.actors import Actor
from apps.core.admin_money import MoneyAdminMixin, money_html
from apps.core.admin_readonly import ReadOnlyModelAdmin
from apps.core.exceptions import FincoreError
from apps.reconciliation.models import BalanceProof, Break, BreakKind, BreakStatus
from apps.reconciliation.selectors import breaks as selectors
from apps.reconciliation.services import breaks as services


class StatusFilter(admin.SimpleListFilter):
    """Open breaks unless asked otherwise: the queue is what is left to do."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("resolved", "Resolved"), ("all", "All")]

    def choices(self, changelist: Any) -> Any:
        for value, label in self.lookup_choices:
            yield {"selected": (self.value() or "open") == value, "display": label,
                   "query_string": changelist.get_query_string({self.parameter_name: value})}

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value() or "open"
        return queryset if value == "all" else queryset.filter(status=value)


class AssignedFilter(admin.SimpleListFilter):
    title = "assigned to"
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("me", "Me"), ("nobody", "Nobody")]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "me":
            return queryset.filter(assigned_to=request.user)
        if self.value() == "nobody":
            return queryset.filter(assigned_to=None)
        return queryset


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"
    BANDS = {"day": (None, 1), "days": (1, 3), "older": (3, None)}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("day", "Under a day"), ("days", "1 to 3 days"), ("older", "Over 3 days")]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() not in self.BANDS:
            return queryset
        younger, older = self.BANDS[self.value()]
        now = clock.now()
        if younger is not None:
            queryset = queryset.filter(opened_at__lte=now - timedelta(days=younger))
        if older is not None:
            queryset = queryset.filter(opened_at__gt=now - timedelta(days=older))
        return queryset


@admin.register(Break)
class BreakAdmin(MoneyAdminMixin, CsvExportMixin, ReadOnlyModelAdmin):
    money_fields = {"amount": "currency"}
    # What fits at 1366 px; the line or expectation, and who resolved it how, are on the break's page.
    list_display = ["opened_at", "kind", "nostro_code", "amount_money", "status", "assigned_to"]
    list_filter = [StatusFilter, "kind", "nostro", AssignedFilter, AgeFilter, "resolution"]
    list_select_related = ["assigned_to"]
    search_fields = ["line__reference", "line__end_to_end_id", "expectation__reference", "expectation__source_id"]
    date_hierarchy = "opened_at"

    @admin.display(description="Nostro", ordering="nostro")
    def nostro_code(self, found: Break) -> str:
        return found.nostro_id

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [path("<path:object_id>/work/<str:step>/", view(self.work_view), name="reconciliation_break_work"),
                *super().get_urls()]

    def _break(self, request: HttpRequest, object_id: str, permission: str = "") -> Break:
        if not self.has_view_permission(request) or (permission and not request.user.has_perm(permission)):
            raise PermissionDenied
        found = self.get_object(request, unquote(object_id))
        if found is None:
            raise Http404("No such break.")
        return found

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        found = self._break(request, object_id)
        if request.method == "POST":
            # Nothing is saved here: the work is posted to work/<step>/.
            raise PermissionDenied
        may_work = request.user.has_perm(services.WORK_PERMISSION) and found.status == BreakStatus.OPEN
        if found.kind == BreakKind.UNMATCHED_LINE:
            candidates = [(str(e.pk), f"{e.get_source_display()} {e.source_id}", e.expected_date,
                           money_html(e.amount - e.reconciled_amount, e.currency), e.reference)
                          for e in selectors.expectation_candidates(found)] if may_work else []
        else:
            candidates = [(str(line.pk), f"{line.statement} #{line.position}", line.booking_date,
                           money_html(line.amount, line.currency), line.reference)
                          for line in selectors.line_candidates(found)] if may_work else []
        workers = get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "original": found,
            "break": found, "title": str(found), "amount": money_html(found.amount, found.currency),
            "has_change_permission": False, "may_work": may_work, "candidates": candidates,
            "comments": found.comments.all(), "workers": workers,
            "may_comment": request.user.has_perm(services.WORK_PERMISSION),
            "adjustment": services.BREAK_ADJUST,
        }
        return TemplateResponse(request, "admin/reconciliation/break/break.html", context)

    def work_view(self, request: HttpRequest, object_id: str, step: str) -> HttpResponse:
        """One piece of work, POSTed from the break's page; back to the page with what became of it."""
        if request.method != "POST":
            raise Http404("Break work is posted from the break's page.")
        found = self._break(request, object_id, services.WORK_PERMISSION)
        page = reverse("admin:reconciliation_break_change", args=[found.pk])
        data, actor = request.POST, Actor.staff(request.user)
        reason = data.get("reason", "")
        done = ""
        try:
            if step == "assign":
                who = data.get("assignee", "")
                user = request.user if who == "me" else \
                    get_user_model().objects.filter(pk=who, is_active=True, is_staff=True).first() \
                    if who.isascii() and who.isdigit() else None
                if who and user is None:
                    raise services.InvalidBreakWork("Choose someone on staff.")
                services.break_assign(break_id=found.pk, user=user, actor=actor, reason=reason)
                done = f"Assigned to {user.get_username()}." if user else "Unassigned."
            elif step == "comment":
                services.break_comment(break_id=found.pk, body=data.get("body", ""), actor=actor)
                done = "Comment added."
            elif step == "ignore":
                services.break_ignore(break_id=found.pk, actor=actor, reason=reason)
                done = "Ignored."
            elif step == "link":
                chosen = data.getlist("counterpart")
                if found.kind == BreakKind.UNMATCHED_LINE:
                    services.break_link(break_id=found.pk, expectation_ids=_uuids(chosen), actor=actor, reason=reason)
                else:
                    services.break_link(break_id=found.pk, line_ids=_line_ids(chosen), actor=actor, reason=reason)
                done = "Linked."
            elif step == "adjust":
                approval_request = compliance_services.approval_request_create(
                    action=services.BREAK_ADJUST, arguments={"break_id": str(found.pk)}, user=request.user,
                    reason=reason)
                approval_requested_message(request, approval_request)
            else:
                raise Http404("No such break work.")
        except FincoreError as refused:
            self.message_user(request, f"Refused: {refused.detail}", messages.ERROR)
        else:
            if done:
                self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(page)


def _line_ids(values: list[str]) -> list[int]:
    """The statement line ids a form posted (positive and within PostgreSQL's bigint)."""
    if not all(value.isascii() and value.isdigit() and 0 < int(value) < 2**63 for value in values):
        raise services.InvalidBreakWork("Choose statement lines from the list.")
    return [int(value) for value in values]


def _uuids(values: list[str]) -> list[UUID]:
    """The expectation ids a form posted; a value that is none is refused, not a server error."""
    try:
        return [UUID(value) for value in values]
    except ValueError:
        raise services.InvalidBreakWork("Choose expectations from the list.") from None


@admin.register(BalanceProof)
class BalanceProofAdmin(MoneyAdminMixin, CsvExportMixin, ReadOnlyModelAdmin):
    money_fields = {"ledger_balance": "currency", "statement_balance": "currency", "difference": "currency"}
    list_display = ["proved_at", "statement", "nostro", "as_of", "statement_balance_money", "ledger_balance_money",
                    "difference_money", "status", "proved_by"]
    list_filter = ["status", "nostro", "currency"]
    list_select_related = ["statement", "nostro"]
    date_hierarchy = "proved_at"
    fields = ["statement", "nostro", "currency", "as_of", "statement_balance_money", "ledger_balance_money",
              "difference_money", "status", "proved_at", "proved_by"]
    readonly_fields = fields
