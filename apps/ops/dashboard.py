"""The home dashboard: which tiles there are, who sees each, and how their figures are cached.

``TILES`` is the list of tile providers, in the order the page shows them. A user sees a tile when
they hold all of its ``permissions`` (a superuser sees every tile), so each role sees the figures
of the data it may view. A provider's ``read`` returns a frozen dataclass (``apps.ops.tiles``) that
``templates/admin/ops/tiles/<key>.html`` draws as ``data``; it has a ``state(now)`` method
("ok", "warning", "alarm" or "unavailable") and an ``href``: the changelist behind the tile.

What a reader returns is cached in the Django cache (Redis) for ``CACHE_SECONDS``, under one key per
tile: the figures are the same for everyone who may see them. A provider whose figures depend on
who asks sets ``per_user=True``; its reader is called with the user and cached per user. A queue a
person works through (approvals awaiting me) sets ``cached=False``: it must not show a request
already decided, and it is one indexed read of a few rows.

Adding a tile (settlement, treasury, alerts and cases come this way) is three steps:

1. a reader in ``apps.ops.tiles``, reading through the owning app's selectors;
2. a template ``templates/admin/ops/tiles/<key>.html`` (``data`` is what the reader returned);
3. a row in ``TILES``, as the maker-checker's queue ("Approvals awaiting me") has.

A reader that fails (its database table, Redis, a bug) leaves its tile "unavailable" and the rest
of the page renders; the failure is logged, and not cached, so the next view tries again.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from apps.core import clock
from apps.ops import tiles

logger = logging.getLogger(__name__)

# Long enough that a wall screen refreshing every few seconds costs nothing; short enough that
# the figures are never more than a minute old.
CACHE_SECONDS = 45
# Bump when a tile's dataclass changes shape, so a deploy never reads the old shape from the cache.
CACHE_VERSION = 1
CACHE_ERRORS = (ConnectionInterrupted, RedisError)


@dataclass(frozen=True)
class TileProvider:
    key: str
    title: str
    permissions: tuple[str, ...]
    read: Callable[..., Any]
    per_user: bool = False
    cached: bool = True
    template_name: str = ""  # when tiles share one: admin/ops/tiles/<template_name>.html

    @property
    def template(self) -> str:
        return f"admin/ops/tiles/{self.template_name or self.key}.html"


TILES: tuple[TileProvider, ...] = (
    TileProvider(key="approvals_awaiting_me", title="Approvals awaiting me",
                 permissions=("compliance.approve_approvalrequest",), read=tiles.approvals_awaiting_me,
                 per_user=True, cached=False),
    TileProvider(key="compliance_work", title="Compliance: alerts, overdue cases, holds",
                 permissions=("compliance.view_alert", "compliance.view_case"), read=tiles.compliance_work),
    TileProvider(key="payment_volume", title="Payments: today and the last 7 days",
                 permissions=("payments.view_payment",), read=tiles.payment_volume),
    TileProvider(key="settlement", title="Settlement: the last closed business date",
                 permissions=("settlement.view_settlementrun",), read=tiles.settlement),
    TileProvider(key="treasury_positions", title="Treasury: positions",
                 permissions=("treasury.view_position",), read=tiles.treasury_positions),
    TileProvider(key="liquidity_alerts", title="Low-liquidity alerts",
                 permissions=("treasury.view_liquidityalert",), read=tiles.liquidity_alerts),
    TileProvider(key="fx_rates", title="FX rates",
                 permissions=("treasury.view_fxrate",), read=tiles.fx_rates),
    TileProvider(key="reconciliation", title="Reconciliation: breaks and balance proofs",
                 permissions=("reconciliation.view_break", "reconciliation.view_balanceproof"),
                 read=tiles.reconciliation),
    TileProvider(key="connector_health", title="Connectors: success rate and circuit breaker",
                 permissions=("routing.view_connector",), read=tiles.connector_health),
    TileProvider(key="attempts_needing_review", title="Attempts needing review",
                 permissions=("payments.view_attemptneedingreview",), read=tiles.attempts_needing_review),
    TileProvider(key="outbox", title="Outbox backlog",
                 permissions=("events.view_outboxmessage",), read=tiles.outbox),
    TileProvider(key="queues", title="Queues and dead letters",
                 permissions=("events.view_deadletter",), read=tiles.queues),
    TileProvider(key="ledger_verification", title="Last ledger verification",
                 permissions=("ledger.view_verification",), read=tiles.ledger_verification,
                 template_name="verification"),
    TileProvider(key="audit_verification", title="Last audit chain verification",
                 permissions=("audit.view_auditevent",), read=tiles.audit_verification,
                 template_name="verification"),
)


@dataclass(frozen=True)
class Tile:
    """A tile as the page draws it: ``data`` is None when its reader failed."""

    key: str
    title: str
    template: str
    state: str
    data: Any

    @property
    def href(self) -> str:
        return getattr(self.data, "href", "")


def visible_tiles(user: AbstractBaseUser | AnonymousUser) -> list[TileProvider]:
    return [provider for provider in TILES if user.has_perms(provider.permissions)]


def _cache_key(provider: TileProvider, user: AbstractBaseUser | AnonymousUser) -> str:
    key = f"ops:dashboard:v{CACHE_VERSION}:{provider.key}"
    return f"{key}:user:{user.pk}" if provider.per_user else key


def _cached(key: str) -> Any:
    try:
        return cache.get(key)
    except CACHE_ERRORS as error:
        logger.warning("dashboard: cache unavailable", extra={"error": repr(error)})
        return None


def _keep(key: str, data: Any) -> None:
    try:
        cache.set(key, data, CACHE_SECONDS)
    except CACHE_ERRORS as error:
        logger.warning("dashboard: cache unavailable", extra={"error": repr(error)})


def _read(provider: TileProvider, user: AbstractBaseUser | AnonymousUser) -> Any:
    if not provider.cached:
        return provider.read(user) if provider.per_user else provider.read()
    key = _cache_key(provider, user)
    data = _cached(key)
    if data is None:
        data = provider.read(user) if provider.per_user else provider.read()
        _keep(key, data)
    return data


def dashboard_tiles(user: AbstractBaseUser | AnonymousUser, *, now: datetime | None = None) -> list[Tile]:
    """The tiles ``user`` may see, with their figures (from the cache while fresh)."""
    now = now or clock.now()
    shown = []
    for provider in visible_tiles(user):
        try:
            data = _read(provider, user)
        except Exception:  # one failing source must not take the whole page down
            logger.exception("dashboard: tile unavailable", extra={"tile": provider.key})
            shown.append(Tile(provider.key, provider.title, provider.template, tiles.UNAVAILABLE, None))
            continue
        shown.append(Tile(provider.key, provider.title, provider.template, data.state(now), data))
    return shown
