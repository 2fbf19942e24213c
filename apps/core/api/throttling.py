"""Rate limits in Redis, shared by every web process: the generic cell rate algorithm (GCRA).

A limit of ``N/period`` lets a caller send N requests at once and then one every period/N;
each check is one atomic Lua call storing a single timestamp per caller. When a caller is
over its limit, DRF answers 429 with ``Retry-After`` (see ``problems``).
"""

import logging
import math

from django_redis import get_redis_connection
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from apps.core.rates import parse_rate

logger = logging.getLogger(__name__)

# Returns {allowed (0/1), microseconds to wait}. TIME is Redis's clock, so web processes
# with skewed clocks agree.
_GCRA = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if allow_at > now then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0}
"""


class RedisRateThrottle(BaseThrottle):
    """Subclasses say whose budget a request spends (``cache_key``) and how big it is (``rate``)."""

    scope = "api"
    _wait: float | None = None

    def cache_key(self, request: Request) -> str | None:
        raise NotImplementedError

    def rate(self, request: Request) -> str:
        raise NotImplementedError

    def allow_request(self, request: Request, view: object) -> bool:
        key = self.cache_key(request)
        if key is None:
            return True
        count, period_seconds = parse_rate(self.rate(request))
        interval_us = period_seconds * 1_000_000 / count
        try:
            script = get_redis_connection("default").register_script(_GCRA)
            allowed, wait_us = script(keys=[f"fincore:throttle:{self.scope}:{key}"], args=[interval_us, count])
        except RedisError:
            # Refusing every request because the limiter is down would turn a Redis outage into
            # an API outage; /readyz reports Redis instead.
            logger.warning("rate limiter unavailable; request allowed")
            return True
        self._wait = math.ceil(int(wait_us) / 1_000_000) if not allowed else None
        return bool(allowed)

    def wait(self) -> float | None:
        return self._wait
