"""Maker-checker: sensitive actions requested by one person and executed after another approves.

The semantics are Apache Fineract's. A maker (who holds the action's permission) requests; a
checker (a Compliance supervisor or a superuser, never the maker) approves with a fresh code of
their TOTP device; the approval that completes the request calls the action's service, in a
savepoint of the approval's own transaction, so the decision and its effect commit together and
two approvals at once execute it exactly once (the request's row is locked, then its state read).
A service that refuses (a FincoreError) leaves the request ``failed`` with what it said. A
second identical pending request is refused by the database; editing a pending request voids its
approvals; an unapproved request expires (default 72 hours) and can then never be approved.
Every step is journaled with the request's full payload.

Lock order: an approval request, then whatever its action's service locks.
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.services import audit_record
from apps.compliance import registry, selectors
from apps.compliance.data import (
    DEFAULT_APPROVALS_REQUIRED,
    DEFAULT_EXPIRY_HOURS,
    FREEZE_ACTIONS,
    MAX_APPROVALS_REQUIRED,
    MAX_EXPIRY_HOURS,
    SensitiveAction,
    Target,
)
from apps.compliance.models import Approval, ApprovalPolicy, ApprovalRequest
from apps.core import clock
from apps.core.actors import Actor, ActorType
from apps.core.currencies import is_currency
from apps.core.exceptions import FincoreError
from apps.core.money import Money
from apps.events.outbox import services as events_services

State = ApprovalRequest.State


class ApprovalRefused(FincoreError):
    code = "approval_refused"
    title = "The maker-checker step was refused"
    status = 403


class NotAMaker(ApprovalRefused):
    code = "approval_not_a_maker"
    title = "You may not request this action"


class NotAChecker(ApprovalRefused):
    code = "approval_not_a_checker"
    title = "You may not approve or reject requests"


class MakerCannotCheck(ApprovalRefused):
    code = "approval_maker_cannot_check"
    title = "The maker of a request cannot approve or reject it"


class NotTheMaker(ApprovalRefused):
    code = "approval_not_the_maker"
    title = "Only the maker of a request may edit it"


class InvalidOtpCode(ApprovalRefused):
    code = "approval_otp_invalid"
    title = "The code is not a fresh code of your authenticator"


class DuplicateRequest(FincoreError):
    code = "approval_request_duplicate"
    title = "An identical request is already pending"
    status = 409


class RequestNotPending(FincoreError):
    code = "approval_request_not_pending"
    title = "The request is no longer pending"
    status = 409


class RequestExpired(RequestNotPending):
    code = "approval_request_expired"
    title = "The request expired before it was approved"


class AlreadyApproved(FincoreError):
    code = "approval_already_given"
    title = "You already approved this version of the request"
    status = 409


class InvalidRequest(FincoreError):
    code = "approval_request_invalid"
    title = "The request is not valid"
    status = 422


def sensitive_action_register(action: SensitiveAction) -> None:
    """Make ``action`` requestable (from the owning app's ``AppConfig.ready``)."""
    registry.register(action)


# --- the journal ---------------------------------------------------------------------------


def _payload(request: ApprovalRequest) -> dict[str, Any]:
    """The request as the journal keeps it: everything needed to see what was asked and decided."""
    return {
        "action": request.action, "label": request.action_label, "arguments": request.arguments,
        "target": {"type": request.target_type, "id": request.target_id, "label": request.target_label},
        "amount": request.amount, "currency": request.currency,
        "money": Money(request.amount, request.currency).format() if request.amount is not None else None,
        "state": request.state, "version": request.version, "reason": request.reason,
        "maker": request.maker.get_username(), "approvals_required": request.approvals_required,
        "approved_by": [approval.checker.get_username() for approval in selectors.approvals_of(request)],
        "decided_by": request.decided_by.get_username() if request.decided_by else None,
        "expires_at": request.expires_at, "outcome": request.outcome,
        "case": str(request.case_id) if request.case_id else None,
    }


def _journal(request: ApprovalRequest, step: str, *, actor: Actor, reason: str = "",
             before: dict[str, Any] | None = None) -> None:
    audit_record(
        actor=actor, action=f"approval_request.{step}", object_type="compliance.approvalrequest",
        object_id=str(request.pk), before=before, after=_payload(request), reason=reason or request.reason,
        merchant_id=str(request.merchant_id or ""),
    )


def _freeze_event_publish(request: ApprovalRequest, event_type: str) -> None:
    """``compliance.freeze_requested`` / ``compliance.freeze_executed`` for anything downstream
    (a freeze of an account or of a merchant's accounts, from a case or not)."""
    if request.action not in FREEZE_ACTIONS:
        return
    events_services.event_publish(event_type=f"compliance.{event_type}", data={
        "approval_request_id": str(request.pk), "action": request.action,
        "target": {"type": request.target_type, "id": request.target_id, "label": request.target_label},
        "merchant_id": str(request.merchant_id) if request.merchant_id else None,
        "case_id": str(request.case_id) if request.case_id else None, "state": request.state,
    })


# --- requesting ----------------------------------------------------------------------------


def _fingerprint(action: str, arguments: Mapping[str, Any]) -> str:
    canonical = json.dumps({"action": action, "arguments": arguments}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _described(definition: SensitiveAction, arguments: Any) -> tuple[Target, tuple[int, str] | None]:
    if not isinstance(arguments, Mapping):
        raise InvalidRequest("The arguments are a JSON object.")
    try:
        json.dumps(arguments)
    except (TypeError, ValueError) as unserialisable:
        raise InvalidRequest("The arguments must be plain JSON.") from unserialisable
    target = definition.describe(arguments)
    amount = definition.amount(arguments) if definition.amount else None
    return target, amount


def _needs_checker(definition: SensitiveAction, policy: ApprovalPolicy | None, amount: tuple[int, str] | None) -> bool:
    if definition.always_checked or policy is None:
        return True
    if not policy.requires_approval:
        return False
    return not (policy.threshold is not None and amount is not None and amount[0] <= policy.threshold)


def approval_request_create(*, action: str, arguments: Mapping[str, Any], user: Any, reason: str,
                            case: Any = None) -> ApprovalRequest:
    """Request ``action`` with ``arguments`` as ``user`` (the maker); ``case``, when it is asked
    from a case, links the request to it (the case's timeline lists it).

    Under the action's policy threshold (or when its policy needs no checker) it is executed at
    once, journaled as requested and executed (or failed) with no checker. Raises UnknownAction,
    NotAMaker (a checker-only role among others), InvalidRequest or the action's own refusal of its
    arguments, DuplicateRequest (an identical request is pending; nothing is written).
    """
    definition = registry.get(action)
    if not (user.is_active and user.has_perm(definition.permission)):
        raise NotAMaker(f"You may not request “{definition.label}”.")
    if not reason.strip():
        raise InvalidRequest("Say why: the reason is shown to the checker and kept in the journal.")
    arguments = dict(arguments)
    target, amount = _described(definition, arguments)
    policy = selectors.approval_policy_for(action=action, currency=amount[1] if amount else "")
    now = clock.now()
    request = ApprovalRequest(
        action=action, action_label=definition.label, arguments=arguments,
        fingerprint=_fingerprint(action, arguments), target_type=target.object_type, target_id=target.object_id,
        target_label=target.label[:255], merchant_id=target.merchant_id, amount=amount[0] if amount else None,
        currency=amount[1] if amount else "", reason=reason, maker=user,
        approvals_required=policy.approvals_required if policy else DEFAULT_APPROVALS_REQUIRED,
        created_at=now, updated_at=now, case=case,
        expires_at=now + timedelta(hours=policy.expires_after_hours if policy else DEFAULT_EXPIRY_HOURS),
    )
    with transaction.atomic():
        try:
            with transaction.atomic():
                request.save(force_insert=True)
        except IntegrityError as duplicate:
            raise DuplicateRequest(
                f"“{definition.label}” for {target.label} is already pending approval."
            ) from duplicate
        _journal(request, "requested", actor=Actor.staff(user))
        _freeze_event_publish(request, "freeze_requested")
        if not _needs_checker(definition, policy, amount):
            _execute(request, definition, checker=None)
    return request


def approval_request_edit(*, request_id: Any, user: Any, arguments: Mapping[str, Any], reason: str) -> ApprovalRequest:
    """The maker changes a pending request's arguments: its approvals are void, its version rises.

    Raises ApprovalRequest.DoesNotExist, NotTheMaker, RequestNotPending, RequestExpired,
    InvalidRequest or the action's refusal of the arguments, DuplicateRequest.
    """
    if not reason.strip():
        raise InvalidRequest("Say why the request changes.")
    arguments = dict(arguments)
    with transaction.atomic():
        request = ApprovalRequest.objects.select_for_update(of=("self",)).select_related("maker").get(pk=request_id)
        if request.maker_id != user.pk:
            raise NotTheMaker()
        _check_open(request)
        definition = registry.get(request.action)
        target, amount = _described(definition, arguments)
        before = _payload(request)
        now = clock.now()
        request.approvals.filter(voided_at__isnull=True).update(voided_at=now)
        request.arguments, request.fingerprint = arguments, _fingerprint(request.action, arguments)
        request.target_type, request.target_id = target.object_type, target.object_id
        request.target_label = target.label[:255]
        request.merchant_id = target.merchant_id
        request.amount, request.currency = (amount[0], amount[1]) if amount else (None, "")
        request.version += 1
        request.updated_at = now
        try:
            with transaction.atomic():
                request.save()
        except IntegrityError as duplicate:
            raise DuplicateRequest(f"“{request.action_label}” for {target.label} is already pending.") from duplicate
        _journal(request, "edited", actor=Actor.staff(user), reason=reason, before=before)
    return request


# --- deciding ------------------------------------------------------------------------------


def _check_open(request: ApprovalRequest) -> None:
    if request.state != State.PENDING:
        raise RequestNotPending(f"The request is {request.get_state_display().lower()}.")
    if request.expires_at <= clock.now():
        raise RequestExpired(f"The request expired at {request.expires_at:%Y-%m-%d %H:%M} UTC.")


def _verify_fresh_code(user: Any, otp_token: str) -> None:
    """One of the user's confirmed TOTP devices accepts the code, once (django-otp refuses a code
    already used, and throttles failures: its own writes commit even when the approval fails)."""
    token = (otp_token or "").strip()
    with transaction.atomic():
        devices = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk")
        if token and any(device.verify_token(token) for device in devices):
            return
    raise InvalidOtpCode()


def _check_checker(request: ApprovalRequest, user: Any) -> None:
    if not selectors.may_approve(user):
        raise NotAChecker()
    if request.maker_id == user.pk:
        raise MakerCannotCheck()


def _expire(request: ApprovalRequest, actor: Actor) -> None:
    request.state, request.decided_at = State.EXPIRED, clock.now()
    request.outcome = "Not approved in time."
    request.save(update_fields=["state", "decided_at", "outcome"])
    _journal(request, "expired", actor=actor)
    _closed(request, actor)


def _closed(request: ApprovalRequest, actor: Actor) -> None:
    """Tell the owning app that ``request`` ended without its action running (``SensitiveAction.closed``)."""
    definition = registry.get(request.action)
    if definition.closed is not None:
        definition.closed(request.arguments, request.state, actor)


def _execute(request: ApprovalRequest, definition: SensitiveAction, *, checker: Any) -> None:
    """Call the action's service as the maker, approved by ``checker`` (or at once, under the policy)."""
    label = request.maker.get_username()
    if checker is not None:
        label = f"{label}, approved by {checker.get_username()}"
    actor = Actor(ActorType.STAFF, str(request.maker_id), label)
    try:
        with transaction.atomic():
            result = definition.service(**request.arguments, actor=actor, reason=request.reason)
    except FincoreError as refused:
        request.state, request.outcome = State.FAILED, refused.detail
        step = "failed"
    else:
        request.state, request.outcome = State.EXECUTED, str(result) if result is not None else "Done."
        step = "executed"
    request.decided_at, request.decided_by = clock.now(), checker
    request.save(update_fields=["state", "outcome", "decided_at", "decided_by"])
    _journal(request, step, actor=actor)
    if step == "executed":
        _freeze_event_publish(request, "freeze_executed")
    else:
        _closed(request, actor)


def approval_request_approve(*, request_id: Any, user: Any, otp_token: str) -> ApprovalRequest:
    """Approve as ``user`` with a fresh TOTP code; the approval that completes the request
    executes it (``executed``, or ``failed`` with the service's refusal).

    Raises ApprovalRequest.DoesNotExist, NotAChecker, MakerCannotCheck, InvalidOtpCode,
    RequestNotPending (decided already: a concurrent approval executed it), RequestExpired (the
    request is marked expired then), AlreadyApproved. Nothing of the request changes on a refusal.
    """
    request = ApprovalRequest.objects.get(pk=request_id)
    _check_checker(request, user)
    # Refusals that need no code come first: a code is spent only on an approval that may succeed.
    if request.state != State.PENDING:
        raise RequestNotPending(f"The request is {request.get_state_display().lower()}.")
    if request.approvals.filter(checker=user, voided_at__isnull=True).exists():
        raise AlreadyApproved()
    _verify_fresh_code(user, otp_token)
    expired = False
    with transaction.atomic():
        request = ApprovalRequest.objects.select_for_update(of=("self",)).select_related("maker").get(pk=request_id)
        try:
            _check_open(request)
        except RequestExpired:
            # Decided now, and kept: an expired request can never be approved.
            _expire(request, Actor.system("compliance.approval_expiry"))
            expired = True
        if not expired:
            if request.approvals.filter(checker=user, voided_at__isnull=True).exists():
                raise AlreadyApproved()
            Approval.objects.create(request=request, checker=user, version=request.version, approved_at=clock.now())
            _journal(request, "approved", actor=Actor.staff(user))
            if selectors.approvals_of(request).count() >= request.approvals_required:
                _execute(request, registry.get(request.action), checker=user)
    if expired:
        raise RequestExpired(f"The request expired at {request.expires_at:%Y-%m-%d %H:%M} UTC.")
    return request


def approval_request_reject(*, request_id: Any, user: Any, reason: str) -> ApprovalRequest:
    """Reject as ``user`` (a checker, not the maker), saying why. Raises ApprovalRequest.DoesNotExist,
    NotAChecker, MakerCannotCheck, InvalidRequest (no reason), RequestNotPending, RequestExpired."""
    if not reason.strip():
        raise InvalidRequest("Say why the request is rejected: the maker reads it.")
    with transaction.atomic():
        request = ApprovalRequest.objects.select_for_update(of=("self",)).select_related("maker").get(pk=request_id)
        _check_checker(request, user)
        _check_open(request)
        request.state, request.outcome, request.decided_at, request.decided_by = (
            State.REJECTED, reason, clock.now(), user,
        )
        request.save(update_fields=["state", "outcome", "decided_at", "decided_by"])
        _journal(request, "rejected", actor=Actor.staff(user), reason=reason)
        _closed(request, Actor.staff(user))
    return request


def approval_requests_expire(*, limit: int = 500) -> int:
    """Mark pending requests past their deadline expired (the beat sweep). Returns how many.

    Skips a request locked by an approval in flight: that approval decides it.
    """
    actor = Actor.system("compliance.approval_expiry")
    with transaction.atomic():
        due = list(
            ApprovalRequest.objects.select_for_update(skip_locked=True, of=("self",)).select_related("maker")
            .filter(state=State.PENDING, expires_at__lte=clock.now()).order_by("expires_at")[:limit]
        )
        for request in due:
            _expire(request, actor)
    return len(due)


# --- policies ------------------------------------------------------------------------------


def approval_policy_validate(arguments: Mapping[str, Any]) -> Target:
    """What a policy change names: a registered action (not policy changes themselves), a currency
    or none, a threshold in that currency's minor units, 1 to 3 checkers, an expiry in hours."""
    action = arguments.get("action")
    definition = registry.get(str(action))
    if definition.always_checked:
        raise InvalidRequest(f"“{definition.label}” always needs a checker.")
    currency = arguments.get("currency", "")
    if currency and not is_currency(currency):
        raise InvalidRequest(f"{currency!r} is not an ISO 4217 currency code.")
    threshold = arguments.get("threshold")
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise InvalidRequest("The threshold is a whole number of minor units, 0 or more.")
        if not currency or definition.amount is None:
            raise InvalidRequest("A threshold needs an action that moves money and a currency.")
    approvals = arguments.get("approvals_required")
    if isinstance(approvals, bool) or not isinstance(approvals, int) or not 1 <= approvals <= MAX_APPROVALS_REQUIRED:
        raise InvalidRequest(f"Between 1 and {MAX_APPROVALS_REQUIRED} checkers.")
    hours = arguments.get("expires_after_hours")
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_EXPIRY_HOURS:
        raise InvalidRequest(f"A request waits between 1 and {MAX_EXPIRY_HOURS} hours.")
    if not isinstance(arguments.get("requires_approval"), bool):
        raise InvalidRequest("Say whether the action needs a checker.")
    where = f"in {currency}" if currency else "in any currency"
    limit = f", above {Money(threshold, currency).format()}" if threshold is not None else ""
    return Target("compliance.approvalpolicy", f"{action}:{currency}", f"{definition.label} {where}{limit}")


def approval_policy_set(
    *, action: str, currency: str, requires_approval: bool, threshold: int | None, approvals_required: int,
    expires_after_hours: int, actor: Actor, reason: str,
) -> ApprovalPolicy:
    """Set the policy of ``action`` (in ``currency``; empty for any): itself a maker-checker action.
    Raises UnknownAction, InvalidRequest."""
    fields = {"requires_approval": requires_approval, "threshold": threshold,
              "approvals_required": approvals_required, "expires_after_hours": expires_after_hours}
    approval_policy_validate({"action": action, "currency": currency, **fields})
    with transaction.atomic():
        existing = ApprovalPolicy.objects.select_for_update().filter(action=action, currency=currency).first()
        before = {name: getattr(existing, name) for name in fields} if existing else None
        policy, _ = ApprovalPolicy.objects.update_or_create(
            action=action, currency=currency,
            defaults={**fields, "updated_at": clock.now(), "updated_by": actor.label},
        )
        audit_record(
            actor=actor, action="approval_policy.changed", object_type="compliance.approvalpolicy",
            object_id=str(policy.pk), before=before, after={"action": action, "currency": currency, **fields},
            reason=reason,
        )
    return policy
