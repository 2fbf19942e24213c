"""A maker-checker request made from an admin form: one place for every app's request pages (the
approval requests' own, a holiday change, a price change, a bank account change)."""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest

from apps.compliance import services
from apps.compliance.models import ApprovalRequest
from apps.core.exceptions import FincoreError


def approval_request_from_form(request: HttpRequest, form: forms.Form, *, action: str, arguments: dict[str, Any],
                               reason: str) -> ApprovalRequest | None:
    """Request ``action`` as the signed-in user and say what became of it; a refusal (the owning
    service's own checks, made when the request is made) is shown on ``form`` and nothing is
    written: None then."""
    try:
        created = services.approval_request_create(action=action, arguments=arguments, user=request.user,
                                                   reason=reason)
    except FincoreError as refused:
        form.add_error(None, refused.detail)
        return None
    approval_requested_message(request, created)
    return created


def approval_requested_message(request: HttpRequest, approval_request: ApprovalRequest) -> None:
    """Under a policy that needs no checker the change is made, or refused, at once: say which."""
    if approval_request.is_pending:
        messages.success(request, f"Requested: {approval_request}. It waits for a checker's approval.")
    elif approval_request.state == ApprovalRequest.State.EXECUTED:
        messages.success(request, f"Executed at once (no checker needed under the policy): {approval_request.outcome}")
    else:
        messages.error(request, f"Refused: {approval_request.outcome}")
