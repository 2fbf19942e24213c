"""Connector health in Redis: success-rate windows and circuit breakers.

They change on every attempt, are shared by every web and worker process, and may be lost
without harm (a flushed Redis means "no history": every connector scores 0.5, every breaker
is closed), so they live in Redis, not PostgreSQL. The decisions about them are made in
``apps.routing.domain``; this module only counts and stores.

Sliding windows are time buckets: one hash per (connector, dimension, bucket), expiring once it
leaves the window; a window read sums its buckets. Redis being down never fails a payment:
reads answer "no history", writes are skipped, both with a warning.
"""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django_redis import get_redis_connection
from redis.exceptions import RedisError

from apps.core import clock
from apps.routing.data import Outcome
from apps.routing.domain import (
    BreakerPolicy,
    BreakerRecord,
    BreakerState,
    WindowCounts,
    breaker_state_at,
    breaker_transition,
    is_breaker_failure,
)
from apps.routing.exceptions import ConnectorHealthUnavailable

logger = logging.getLogger(__name__)

PREFIX = "fincore:routing"
# Success-rate scoring: 10 minutes in 30-second buckets. Long enough to hold a few hundred
# attempts on a quiet connector, short enough that a connector that recovers wins back its
# traffic within minutes (exploration keeps feeding it meanwhile).
SCORE_WINDOW_SECONDS = 600
SCORE_BUCKET_SECONDS = 30
# Circuit breaker windows are per connector (Connector.breaker_window_seconds), in 5 s buckets.
BREAKER_BUCKET_SECONDS = 5
ALL = "all"  # the dimension of a connector's overall figures (shown in the admin)

_RECORD = """
for i = 3, 4 do
  redis.call('HINCRBY', KEYS[i], ARGV[3], 1)
  redis.call('EXPIRE', KEYS[i], ARGV[4])
end
redis.call('HINCRBY', KEYS[1], 'total', 1)
if ARGV[1] == '1' then redis.call('HINCRBY', KEYS[1], 'failures', 1) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
local total, failures = 0, 0
for i = 5, #KEYS do
  local counts = redis.call('HMGET', KEYS[i], 'total', 'failures')
  total = total + tonumber(counts[1] or 0)
  failures = failures + tonumber(counts[2] or 0)
end
local state = redis.call('HMGET', KEYS[2], 'state', 'open_until_ms', 'version')
return {total, failures, state[1] or 'closed', state[2] or '0', state[3] or '0'}
"""

# Per connector (KEYS: its breaker, then its ARGV[1] score buckets): breaker state, open until,
# and the window's approved, declined and failed counts summed.
_READ = """
local buckets = tonumber(ARGV[1])
local replies = {}
for first = 1, #KEYS, buckets + 1 do
  local state = redis.call('HMGET', KEYS[first], 'state', 'open_until_ms')
  local approved, declined, failed = 0, 0, 0
  for i = first + 1, first + buckets do
    local counts = redis.call('HMGET', KEYS[i], 'approved', 'declined', 'failed')
    approved = approved + tonumber(counts[1] or 0)
    declined = declined + tonumber(counts[2] or 0)
    failed = failed + tonumber(counts[3] or 0)
  end
  table.insert(replies, state[1] or '')
  table.insert(replies, state[2] or '0')
  table.insert(replies, approved)
  table.insert(replies, declined)
  table.insert(replies, failed)
end
return replies
"""
# Compare-and-set on the breaker's version, so two workers seeing the same failure open it once.
_TRANSITION = """
local version = redis.call('HGET', KEYS[1], 'version') or '0'
if version ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'open_until_ms', ARGV[3], 'version', tonumber(version) + 1)
redis.call('DEL', KEYS[2])
if ARGV[4] == '1' then
  for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
end
return 1
"""


def _redis():
    return get_redis_connection("default")


def _now_ms() -> int:
    return int(clock.now().timestamp() * 1000)


def _score_key(connector: str, dimension: str, bucket: int) -> str:
    return f"{PREFIX}:sr:{connector}:{dimension}:{bucket}"


def _breaker_bucket_key(connector: str, bucket: int) -> str:
    return f"{PREFIX}:br:{connector}:{bucket}"


def _breaker_key(connector: str) -> str:
    return f"{PREFIX}:breaker:{connector}"


def _probe_key(connector: str) -> str:
    return f"{PREFIX}:probe:{connector}"


def dimension(*, method: str, currency: str) -> str:
    return f"{method}:{currency}"


def _score_buckets(now_ms: int) -> list[int]:
    current = now_ms // (SCORE_BUCKET_SECONDS * 1000)
    return [current - i for i in range(SCORE_WINDOW_SECONDS // SCORE_BUCKET_SECONDS)]


def _breaker_buckets(now_ms: int, window_seconds: int) -> list[int]:
    current = now_ms // (BREAKER_BUCKET_SECONDS * 1000)
    count = max(1, -(-window_seconds // BREAKER_BUCKET_SECONDS))
    return [current - i for i in range(count)]


@dataclass(frozen=True, slots=True)
class ConnectorHealth:
    breaker: BreakerState
    open_until_ms: int
    counts: WindowCounts  # in the success-rate window, for the dimension asked for


def result_record(*, connector: str, method: str, currency: str, outcome: Outcome, policy: BreakerPolicy) -> None:
    """Count one attempt result in the windows and move the breaker if it must."""
    if outcome == Outcome.PENDING:
        return  # not an answer yet: the wire's confirmation is counted when it comes
    now_ms = _now_ms()
    field = {Outcome.APPROVED: "approved", Outcome.DECLINED: "declined"}.get(outcome, "failed")
    failure = is_breaker_failure(outcome)
    try:
        redis = _redis()
        bucket = _score_buckets(now_ms)[0]
        scores = [_score_key(connector, dim, bucket) for dim in (dimension(method=method, currency=currency), ALL)]
        buckets = [_breaker_bucket_key(connector, b) for b in _breaker_buckets(now_ms, policy.window_seconds)]
        # One round trip: the score windows counted, the breaker's window counted and read.
        total, failures, state, open_until_ms, version = redis.eval(
            _RECORD, 4 + len(buckets), buckets[0], _breaker_key(connector), *scores, *buckets,
            "1" if failure else "0", policy.window_seconds + BREAKER_BUCKET_SECONDS, field,
            SCORE_WINDOW_SECONDS + SCORE_BUCKET_SECONDS,
        )
        record = BreakerRecord(BreakerState(_text(state)), int(open_until_ms))
        changed = breaker_transition(
            record, failure=failure, window_total=int(total), window_failures=int(failures), policy=policy,
            now_ms=now_ms,
        )
        if changed is not None:
            clear = changed.state == BreakerState.CLOSED
            moved = redis.eval(
                _TRANSITION, 2 + len(buckets), _breaker_key(connector), _probe_key(connector), *buckets,
                _text(version), changed.state.value, changed.open_until_ms, "1" if clear else "0",
            )
            if moved:
                logger.warning(
                    "connector circuit %s", changed.state.value,
                    extra={"connector": connector, "breaker": changed.state.value, "window_total": int(total),
                           "window_failures": int(failures), "was": breaker_state_at(record, now_ms).value},
                )
    except RedisError:
        logger.warning("connector health not recorded: redis unavailable", extra={"connector": connector},
                       exc_info=True)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def health_read(
    connectors: Iterable[str], *, dimension_of: Mapping[str, str] | None = None
) -> dict[str, ConnectorHealth]:
    """Breaker state and success-rate window of each connector, in one round trip (one script
    that sums each window's buckets in Redis).

    ``dimension_of`` names the window per connector (default: the connector's overall one).
    """
    names = list(dict.fromkeys(connectors))
    now_ms = _now_ms()
    buckets = _score_buckets(now_ms)
    closed = {name: ConnectorHealth(BreakerState.CLOSED, 0, WindowCounts()) for name in names}
    if not names:
        return {}
    keys = []
    for name in names:
        dim = (dimension_of or {}).get(name, ALL)
        keys += [_breaker_key(name), *(_score_key(name, dim, bucket) for bucket in buckets)]
    try:
        replies = _redis().eval(_READ, len(keys), *keys, len(buckets))
    except RedisError:
        logger.warning("connector health unknown: redis unavailable", exc_info=True)
        return closed
    found: dict[str, ConnectorHealth] = {}
    for index, name in enumerate(names):
        state, open_until, approved, declined, failed = replies[index * 5:(index + 1) * 5]
        state = _text(state)
        record = BreakerRecord(BreakerState(state) if state else BreakerState.CLOSED, int(open_until))
        counts = WindowCounts(int(approved), int(declined), int(failed))
        found[name] = ConnectorHealth(breaker_state_at(record, now_ms), record.open_until_ms, counts)
    return found


def probe_claim(connector: str, *, open_seconds: int) -> bool:
    """Claim the one probe of a half-open breaker; False when another payment holds it. The
    claim lapses after ``open_seconds``, so a probe that never reports back does not block."""
    try:
        return bool(_redis().set(_probe_key(connector), "1", nx=True, px=max(1, open_seconds) * 1000))
    except RedisError:
        logger.warning("breaker probe not claimed: redis unavailable", extra={"connector": connector})
        return True


def breaker_reset(connector: str) -> None:
    """Close the breaker and forget its window (an operator's decision, e.g. after an outage)."""
    try:
        redis = _redis()
        keys = [_breaker_key(connector), _probe_key(connector)]
        keys += [k for k in redis.scan_iter(match=f"{PREFIX}:br:{connector}:*", count=500)]
        redis.delete(*keys)
    except RedisError as error:
        # Said, not swallowed: the operator must not believe (nor the journal record) a reset
        # that did not happen.
        raise ConnectorHealthUnavailable(f"The breaker of {connector} was not reset: {error}") from error


def rate(counts: WindowCounts) -> Decimal | None:
    """The raw approval rate of a window, for people (None without attempts)."""
    if not counts.attempts:
        return None
    return Decimal(counts.approved) / Decimal(counts.attempts)
