"""Merchant webhook endpoints: where a merchant's events are sent, and how they are signed.

- Endpoints are created, changed, disabled and deleted by their merchant through the API, or
  disabled and re-enabled by staff in the admin; every such change is journaled with its actor.
- Their signing secrets are derived, never stored (``signing``); rotating one keeps the
  previous secret valid for an overlap window.
- An endpoint whose deliveries have failed without a single success for DISABLE_AFTER is
  disabled by the system (:func:`webhook_endpoint_failure_note`, called by the deliveries), with
  a reason and an audit event; staff see it flagged on the merchant and may re-enable it.

Events and deliveries are in ``deliveries``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from apps.audit.services import audit_record
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.core.exceptions import FincoreError
from apps.events.webhooks import event_types, signing, transport
from apps.events.webhooks.models import WebhookEndpoint

# An endpoint with no success for this long, while failing all along, is disabled.
DISABLE_AFTER = timedelta(days=3)
# Rotation: how long the previous secret stays valid by default, and at most.
SECRET_OVERLAP_DEFAULT = timedelta(hours=24)
SECRET_OVERLAP_MAX = timedelta(days=7)
MAX_ENDPOINTS_PER_MODE = 16
MAX_DESCRIPTION_LENGTH = 500

ENDPOINT_PREFIX = "we"
EVENT_PREFIX = "evt"
DELIVERY_PREFIX = "whd"

_SYSTEM = Actor.system("webhooks")


class InvalidWebhookEndpoint(FincoreError):
    """The endpoint's URL may not be called (not http(s), credentials in it, a host that resolves to
    a private, loopback or link-local address or an IPv6 address carrying one, plain http in live
    mode), or its event types are not in the catalogue."""

    code = "invalid_webhook_endpoint"
    title = "The webhook endpoint is not valid"
    status = 400


class WebhookEndpointLimitReached(FincoreError):
    """A merchant may have at most 16 webhook endpoints in each mode; delete one first."""

    code = "webhook_endpoint_limit_reached"
    title = "Too many webhook endpoints"
    status = 422


class WebhookEndpointDisabled(FincoreError):
    """Events are not sent to a disabled endpoint; enable it first (a deleted one is gone for good)."""

    code = "webhook_endpoint_disabled"
    title = "The webhook endpoint is disabled"
    status = 422


class WebhookEndpointStateUnchanged(FincoreError):
    """The endpoint already is enabled (or disabled)."""

    code = "webhook_endpoint_state_unchanged"
    title = "The webhook endpoint already is in this state"
    status = 409


class InvalidSecretRotation(FincoreError):
    """The previous secret may stay valid for 0 seconds up to 7 days after a rotation."""

    code = "invalid_secret_rotation"
    title = "The secret rotation is not valid"
    status = 400


@dataclass(frozen=True)
class IssuedWebhookEndpoint:
    """An endpoint and its current signing secret: show the secret once, never store it."""

    endpoint: WebhookEndpoint
    secret: str


# --- secrets ----------------------------------------------------------------------------------

def webhook_endpoint_secret(*, endpoint: WebhookEndpoint, generation: int | None = None) -> str:
    """The endpoint's signing secret of ``generation`` (its current one by default)."""
    return signing.endpoint_secret(
        master_key=settings.FINCORE_WEBHOOK_KEY, endpoint_id=endpoint.id,
        generation=generation or endpoint.secret_generation,
    )


def webhook_endpoint_signing_secrets(*, endpoint: WebhookEndpoint, at: datetime | None = None) -> list[str]:
    """The secrets a request is signed with at ``at``: the current one, and the previous one while
    its overlap window lasts."""
    at = at or clock.now()
    secrets = [webhook_endpoint_secret(endpoint=endpoint)]
    if endpoint.previous_secret_generation and endpoint.previous_secret_expires_at and (
        at < endpoint.previous_secret_expires_at
    ):
        secrets.append(webhook_endpoint_secret(endpoint=endpoint, generation=endpoint.previous_secret_generation))
    return secrets


# --- endpoints --------------------------------------------------------------------------------

def webhook_url_validate(*, url: str, livemode: bool) -> str:
    """The URL as it will be stored. Raises InvalidWebhookEndpoint if fincore may not call it."""
    url = url.strip()
    try:
        transport.url_check(
            url, require_https=livemode, allow_private=settings.FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS
        )
    except transport.UrlRefused as refused:
        raise InvalidWebhookEndpoint(str(refused), field="url") from refused
    return url


def webhook_events_validate(events: list[str]) -> list[str]:
    """The event types as stored (deduplicated, in the given order). Raises InvalidWebhookEndpoint."""
    if not events:
        raise InvalidWebhookEndpoint("Subscribe to at least one event type, or '*' for all of them.", field="events")
    unknown = [name for name in events if name != event_types.ALL_EVENTS and name not in event_types.BY_NAME]
    if unknown:
        raise InvalidWebhookEndpoint(
            f"Unknown event types: {', '.join(map(repr, unknown))}. Known: "
            f"{', '.join(sorted(event_types.BY_NAME))}, or '*'.",
            field="events",
        )
    return list(dict.fromkeys(events))


def _endpoint_snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url, "events": list(endpoint.events), "description": endpoint.description,
        "status": endpoint.status, "disabled_reason": endpoint.disabled_reason,
        "secret_generation": endpoint.secret_generation,
    }


def _audit(*, actor: Actor, action: str, endpoint: WebhookEndpoint, before: dict[str, Any] | None,
           after: dict[str, Any] | None, reason: str) -> None:
    audit_record(
        actor=actor, action=action, object_type="events.webhookendpoint",
        object_id=ids.encode(ENDPOINT_PREFIX, endpoint.id), before=before, after=after, reason=reason,
        merchant_id=str(endpoint.merchant_id),
    )


def _locked_endpoint(*, endpoint_id: Any, merchant_id: Any, livemode: bool | None) -> WebhookEndpoint:
    """The endpoint, locked; scoped to a merchant and mode when given. A deleted endpoint of a
    merchant's is not found. Raises WebhookEndpoint.DoesNotExist."""
    # FOR NO KEY UPDATE: events being emitted for this endpoint meanwhile need not wait.
    endpoints = WebhookEndpoint.objects.select_for_update(no_key=True)
    if merchant_id is not None:
        endpoints = endpoints.filter(merchant_id=merchant_id, deleted_at__isnull=True)
    if livemode is not None:
        endpoints = endpoints.filter(livemode=livemode)
    return endpoints.get(pk=endpoint_id)


def webhook_endpoint_create(
    *, merchant_id: Any, livemode: bool, url: str, events: list[str], actor: Actor, description: str = "",
    reason: str = "",
) -> IssuedWebhookEndpoint:
    """Add an endpoint (enabled) and return it with its secret, which is shown only now.

    Raises InvalidWebhookEndpoint, WebhookEndpointLimitReached."""
    url = webhook_url_validate(url=url, livemode=livemode)
    events = webhook_events_validate(events)
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidWebhookEndpoint(f"The description is longer than {MAX_DESCRIPTION_LENGTH} characters.")
    now = clock.now()
    with transaction.atomic():
        # Serialises a merchant's concurrent creations, so the limit holds.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"webhook_endpoints:{merchant_id}"])
        existing = WebhookEndpoint.objects.filter(
            merchant_id=merchant_id, livemode=livemode, deleted_at__isnull=True
        ).count()
        if existing >= MAX_ENDPOINTS_PER_MODE:
            raise WebhookEndpointLimitReached(
                f"You have {existing} webhook endpoints in {'live' if livemode else 'test'} mode, the most allowed."
            )
        endpoint = WebhookEndpoint.objects.create(
            merchant_id=merchant_id, livemode=livemode, url=url, events=events, description=description,
            created_at=now, updated_at=now,
        )
        _audit(actor=actor, action="webhook_endpoint.created", endpoint=endpoint, before=None,
               after=_endpoint_snapshot(endpoint), reason=reason)
    return IssuedWebhookEndpoint(endpoint=endpoint, secret=webhook_endpoint_secret(endpoint=endpoint))


def _disable(endpoint: WebhookEndpoint, *, cause: str, reason: str, now: datetime) -> None:
    endpoint.enabled = False
    endpoint.disabled_at = now
    endpoint.disabled_cause = cause
    endpoint.disabled_reason = reason


def _enable(endpoint: WebhookEndpoint) -> None:
    endpoint.enabled = True
    endpoint.disabled_at = None
    endpoint.disabled_cause = ""
    endpoint.disabled_reason = ""
    # A fresh start: the failures before it was disabled no longer count towards disabling it.
    endpoint.failing_since = None


def webhook_endpoint_update(
    *, endpoint_id: Any, changes: Mapping[str, Any], actor: Actor, merchant_id: Any = None,
    livemode: bool | None = None, reason: str = "",
) -> WebhookEndpoint:
    """Change an endpoint's ``url``, ``events``, ``description`` or ``enabled`` (a merchant may
    disable its endpoint and enable it again, also after fincore disabled it for failing).

    ``merchant_id`` and ``livemode`` scope the lookup for a merchant's own request. Raises
    WebhookEndpoint.DoesNotExist, InvalidWebhookEndpoint."""
    unknown = set(changes) - {"url", "events", "description", "enabled"}
    if unknown:
        raise InvalidWebhookEndpoint(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    # Validated before the row is locked: a URL check resolves its host (DNS), which may be slow.
    if "events" in changes:
        events = webhook_events_validate(list(changes["events"]))
    if "description" in changes and len(changes["description"]) > MAX_DESCRIPTION_LENGTH:
        raise InvalidWebhookEndpoint(f"The description is longer than {MAX_DESCRIPTION_LENGTH} characters.")
    if "url" in changes:
        mode = livemode if livemode is not None else (
            WebhookEndpoint.objects.values_list("livemode", flat=True).get(pk=endpoint_id)
        )
        url = webhook_url_validate(url=changes["url"], livemode=mode)
    with transaction.atomic():
        endpoint = _locked_endpoint(endpoint_id=endpoint_id, merchant_id=merchant_id, livemode=livemode)
        if endpoint.deleted_at is not None:
            raise WebhookEndpointDisabled("This endpoint was deleted; create a new one.")
        before = _endpoint_snapshot(endpoint)
        if "url" in changes:
            endpoint.url = url
        if "events" in changes:
            endpoint.events = events
        if "description" in changes:
            endpoint.description = changes["description"]
        if "enabled" in changes and bool(changes["enabled"]) != endpoint.enabled:
            if changes["enabled"]:
                if endpoint.disabled_cause == WebhookEndpoint.DisabledCause.STAFF and actor.type != "staff":
                    raise WebhookEndpointDisabled(
                        f"fincore disabled this endpoint ({endpoint.disabled_reason}); ask support to enable it."
                    )
                _enable(endpoint)
            else:
                cause = (WebhookEndpoint.DisabledCause.STAFF if actor.type == "staff"
                         else WebhookEndpoint.DisabledCause.MERCHANT)
                _disable(endpoint, cause=cause, reason=reason or f"Disabled by {actor.label}.", now=clock.now())
        after = _endpoint_snapshot(endpoint)
        changed = {field for field in after if after[field] != before[field]}
        if changed:
            endpoint.updated_at = clock.now()
            endpoint.save()
            _audit(actor=actor, action="webhook_endpoint.updated", endpoint=endpoint,
                   before={f: before[f] for f in changed}, after={f: after[f] for f in changed}, reason=reason)
    return endpoint


def webhook_endpoint_delete(
    *, endpoint_id: Any, actor: Actor, merchant_id: Any = None, livemode: bool | None = None, reason: str = ""
) -> WebhookEndpoint:
    """Remove an endpoint for good: nothing is sent to it any more and it is no longer listed (its
    deliveries stay on record). Raises WebhookEndpoint.DoesNotExist."""
    with transaction.atomic():
        endpoint = _locked_endpoint(endpoint_id=endpoint_id, merchant_id=merchant_id, livemode=livemode)
        if endpoint.deleted_at is not None:
            raise WebhookEndpoint.DoesNotExist("already deleted")
        before = _endpoint_snapshot(endpoint)
        now = clock.now()
        if endpoint.enabled:
            _disable(endpoint, cause=WebhookEndpoint.DisabledCause.MERCHANT, reason="Deleted.", now=now)
        endpoint.deleted_at = now
        endpoint.updated_at = now
        endpoint.save()
        _audit(actor=actor, action="webhook_endpoint.deleted", endpoint=endpoint, before=before,
               after=_endpoint_snapshot(endpoint), reason=reason)
    return endpoint


def webhook_endpoint_rotate_secret(
    *, endpoint_id: Any, actor: Actor, merchant_id: Any = None, livemode: bool | None = None,
    expires_in: timedelta = SECRET_OVERLAP_DEFAULT, reason: str = "",
) -> IssuedWebhookEndpoint:
    """Give the endpoint a new secret (returned, shown only now). Requests stay signed with the
    previous one too for ``expires_in`` (0 to 7 days), so the receiver can switch over without
    losing events; a secret older than the previous one stops at once.

    Raises WebhookEndpoint.DoesNotExist, InvalidSecretRotation."""
    if not timedelta(0) <= expires_in <= SECRET_OVERLAP_MAX:
        raise InvalidSecretRotation(
            f"expires_in must be from 0 to {int(SECRET_OVERLAP_MAX.total_seconds())} seconds.", field="expires_in"
        )
    with transaction.atomic():
        endpoint = _locked_endpoint(endpoint_id=endpoint_id, merchant_id=merchant_id, livemode=livemode)
        now = clock.now()
        before = {"secret_generation": endpoint.secret_generation}
        if expires_in:
            endpoint.previous_secret_generation = endpoint.secret_generation
            endpoint.previous_secret_expires_at = now + expires_in
        else:
            endpoint.previous_secret_generation = None
            endpoint.previous_secret_expires_at = None
        endpoint.secret_generation += 1
        endpoint.secret_rotated_at = now
        endpoint.updated_at = now
        endpoint.save()
        _audit(
            actor=actor, action="webhook_endpoint.secret_rotated", endpoint=endpoint, before=before,
            after={"secret_generation": endpoint.secret_generation,
                   "previous_secret_expires_at": endpoint.previous_secret_expires_at},
            reason=reason,
        )
    return IssuedWebhookEndpoint(endpoint=endpoint, secret=webhook_endpoint_secret(endpoint=endpoint))


def webhook_endpoint_enable(*, endpoint_id: Any, actor: Actor, reason: str) -> WebhookEndpoint:
    """Staff re-enable a disabled endpoint (e.g. after the merchant fixed its receiver).

    Raises WebhookEndpointStateUnchanged, WebhookEndpointDisabled (deleted)."""
    if not reason.strip():
        raise InvalidWebhookEndpoint("A reason is required to re-enable an endpoint.")
    with transaction.atomic():
        endpoint = _locked_endpoint(endpoint_id=endpoint_id, merchant_id=None, livemode=None)
        if endpoint.deleted_at is not None:
            raise WebhookEndpointDisabled("This endpoint was deleted by its merchant; it cannot be enabled again.")
        if endpoint.enabled:
            raise WebhookEndpointStateUnchanged(f"{endpoint} is already enabled.")
        before = _endpoint_snapshot(endpoint)
        _enable(endpoint)
        endpoint.updated_at = clock.now()
        endpoint.save()
        _audit(actor=actor, action="webhook_endpoint.enabled", endpoint=endpoint, before=before,
               after=_endpoint_snapshot(endpoint), reason=reason)
    return endpoint


def webhook_endpoint_disable(*, endpoint_id: Any, actor: Actor, reason: str) -> WebhookEndpoint:
    """Staff stop deliveries to an endpoint. Raises WebhookEndpointStateUnchanged."""
    if not reason.strip():
        raise InvalidWebhookEndpoint("A reason is required to disable an endpoint.")
    with transaction.atomic():
        endpoint = _locked_endpoint(endpoint_id=endpoint_id, merchant_id=None, livemode=None)
        if not endpoint.enabled:
            raise WebhookEndpointStateUnchanged(f"{endpoint} is already disabled.")
        before = _endpoint_snapshot(endpoint)
        _disable(endpoint, cause=WebhookEndpoint.DisabledCause.STAFF, reason=reason, now=clock.now())
        endpoint.updated_at = clock.now()
        endpoint.save()
        _audit(actor=actor, action="webhook_endpoint.disabled", endpoint=endpoint, before=before,
               after=_endpoint_snapshot(endpoint), reason=reason)
    return endpoint


# --- deliveries' outcomes -----------------------------------------------------------------------

def webhook_endpoint_success_note(*, endpoint: WebhookEndpoint) -> None:
    """A delivery to ``endpoint`` just succeeded: its failure run, if any, is over."""
    if endpoint.failing_since is not None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)


def webhook_endpoint_failure_note(*, endpoint: WebhookEndpoint, now: datetime) -> None:
    """A delivery to ``endpoint`` (locked by the caller) just failed: start its failure run, or
    disable it, with an audit event, when the run has lasted DISABLE_AFTER without a success."""
    if endpoint.failing_since is None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=now)
        return
    if not endpoint.enabled or now - endpoint.failing_since < DISABLE_AFTER:
        return
    before = _endpoint_snapshot(endpoint)
    reason = (
        f"Every delivery since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC failed "
        f"({DISABLE_AFTER.days} days without a success)."
    )
    _disable(endpoint, cause=WebhookEndpoint.DisabledCause.FAILING, reason=reason, now=now)
    endpoint.updated_at = now
    endpoint.save(update_fields=["enabled", "disabled_at", "disabled_cause", "disabled_reason", "updated_at"])
    _audit(actor=_SYSTEM, action="webhook_endpoint.disabled", endpoint=endpoint, before=before,
           after=_endpoint_snapshot(endpoint), reason=reason)
