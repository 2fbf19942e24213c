"""Admin conventions every fincore screen follows.

Compliance needs to know who changed what, when and *why*. :class:`AuditedAdminMixin` adds a
required "reason for this change" to every add and change form and binds it while the change
is saved, so django-auditlog and the journal record it; nothing is ever deleted from the admin.
:func:`reasoned_action` does the same for bulk actions, through a confirmation page.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from apps.core import context
from apps.core.exceptions import FincoreError

REASON_FIELD = "change_reason"


class _ReasonField(forms.CharField):
    """Why the object is changed: recorded with the change, never itself a change of the object."""

    def has_changed(self, initial: Any, data: Any) -> bool:
        return False


def _reason_field() -> forms.CharField:
    return _ReasonField(
        label="Reason for this change",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Recorded in the audit trail with your name and the time.",
    )


class ReasonForm(forms.Form):
    change_reason = _reason_field()


class AuditedAdminMixin:
    """Mix into a ModelAdmin before ``admin.ModelAdmin``."""

    def get_form(self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any):
        # UserAdmin adds users with its own form (add_form), and its get_form takes no ``change``
        # argument by position: keep both working.
        adding_form = getattr(self, "add_form", None) if obj is None else None
        base = kwargs.get("form") or adding_form or self.form  # type: ignore[attr-defined]
        kwargs["form"] = type(base.__name__, (base,), {REASON_FIELD: _reason_field()})
        return super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None):
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f != REASON_FIELD]})
            for name, options in super().get_fieldsets(request, obj)  # type: ignore[misc]
        ]
        may_edit = (
            self.has_change_permission(request, obj)  # type: ignore[attr-defined]
            if obj is not None
            else self.has_add_permission(request)  # type: ignore[attr-defined]
        )
        if may_edit:
            fieldsets.append(("Reason for change", {"fields": [REASON_FIELD]}))
        return fieldsets

    @staticmethod
    def change_reason_of(form: forms.Form) -> str:
        return form.cleaned_data[REASON_FIELD]

    def save_model(self, request: HttpRequest, obj: Model, form: forms.Form, change: bool) -> None:
        with context.change_reason(self.change_reason_of(form)):
            super().save_model(request, obj, form, change)  # type: ignore[misc]

    def save_related(self, request: HttpRequest, form: forms.Form, formsets: Any, change: bool) -> None:
        with context.change_reason(self.change_reason_of(form)):
            super().save_related(request, form, formsets, change)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Money systems keep history: deactivate, suspend or revoke instead.
        return False


def reasoned_action(
    *,
    description: str,
    perform: Callable[[HttpRequest, Any, str], None],
    permissions: tuple[str, ...] = ("change",),
) -> Callable[[admin.ModelAdmin, HttpRequest, QuerySet], HttpResponse | None]:
    """An admin action that asks for a reason on a confirmation page, then calls
    ``perform(request, obj, reason)`` (one service call) for each selected object.

    A refusal (:class:`FincoreError`) for one object is reported and the others go on.
    """

    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            done = 0
            for obj in queryset:
                try:
                    perform(request, obj, form.cleaned_data[REASON_FIELD])
                except FincoreError as refused:
                    modeladmin.message_user(request, f"{obj}: {refused.detail}", messages.ERROR)
                else:
                    done += 1
            if done:
                summary = f"{description}: done for {done} of {len(queryset)}."
                modeladmin.message_user(request, summary, messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/fincore/reasoned_action.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": description,
                "opts": modeladmin.model._meta,
                "queryset": queryset,
                "form": form,
                "action_name": request.POST.get("action", ""),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    # The admin tells actions apart by name: "_suspend" performs the action "suspend".
    action.__name__ = perform.__name__.lstrip("_")
    return admin.action(description=description, permissions=permissions)(action)
