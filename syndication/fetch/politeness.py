"""Politeness shared by every worker: a per-host token bucket and host holds in Redis, adaptive intervals.

    HostRateLimiter(redis)                  one token bucket per host, shared by every worker on every machine
      .try_acquire(host, rate, burst)       -> 0.0: go now (a token was taken); > 0: seconds until one is free
                                               (nothing taken: re-schedule the task and ask again then)
      .acquire(host, timeout=...)           reserves the next free slot and sleeps until it, or raises
                                               RateLimitTimeout at once when that slot is further than timeout
    HostBackoff(redis)                      a host asked us to wait (Retry-After on 429/503)
      .hold(host, seconds, reason)          every worker's limiter then waits for the hold to end
      .held_until(host) / .remaining(host) / .status(host) / .release(host)
    next_interval(history, now=..., ...)    pure: the poll interval from how often a source publishes

The bucket is ONE Lua script (atomic): it reads the clock with Redis ``TIME`` (so every machine uses one
clock), refills the bucket at ``rate`` tokens/s up to ``burst``, and reserves the next token. State is the
token level at an instant that may lie in the future (the last reservation), so reservations queue up in
order, and a grant at time ``t`` is always a grant a plain token bucket would have allowed at ``t``. The
hold key of :class:`HostBackoff` is read by the same script: no token is given out before a hold ends.
Bucket keys expire once the bucket would be full again (an absent key *is* a full bucket), hold keys
when the hold ends.

Rates: ``rate`` given by the caller (a per-source setting) > the per-host table (``{"www.spp.gov.cn": 0.5}``)
> ``default_rate`` (1 request/s). A per-host entry is also a ceiling: a source's own rate never exceeds
its host's entry. Sources on one host share one bucket; give them the same rate (the rate passed with
each call is the one applied to that call).
"""

from __future__ import annotations

import itertools
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import redis

from syndication.errors import SyndicationError

__all__ = [
    "BUCKET_PREFIX",
    "DEFAULT_RATE",
    "HOLD_PREFIX",
    "Grant",
    "Hold",
    "HostBackoff",
    "HostRateLimiter",
    "RateLimitTimeout",
    "bucket_key",
    "hold_key",
    "next_interval",
    "normalize_host",
]

BUCKET_PREFIX = "syndication:bucket:"
HOLD_PREFIX = "syndication:hold:"
DEFAULT_RATE = 1.0  # requests per second per host
DEFAULT_BURST = 1
DEFAULT_MAX_HOLD = 6 * 3600.0  # a Retry-After longer than this is cut to it (as decide.py caps back-off)


class RateLimitTimeout(SyndicationError):
    """No request slot for ``host`` within ``timeout`` s; the next one is ``retry_after`` s away.

    Nothing was reserved: re-schedule the work ``retry_after`` seconds later (or call again)."""

    def __init__(self, host: str, retry_after: float, timeout: float, held: float = 0.0):
        self.host = host
        self.retry_after = retry_after
        self.timeout = timeout
        self.held = held
        why = f" (host held by a Retry-After for {held:.1f} s more)" if held > 0 else ""
        super().__init__(
            f"no request slot for host {host} within {timeout:g} s: the next one is in {retry_after:.2f} s{why}"
        )


def normalize_host(host_or_url: str) -> str:
    """``WWW.SPP.gov.cn.`` / ``https://www.spp.gov.cn:443/x`` -> ``www.spp.gov.cn`` (the port is ignored:
    politeness is owed to a host, not to one of its ports)."""
    value = host_or_url.strip()
    if "://" in value:
        value = urlsplit(value).hostname or ""
    elif value.startswith("[") and "]" in value:  # [::1]:8080
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # host:port
        value = value.split(":", 1)[0]
    value = value.lower().rstrip(".")
    if not value:
        raise ValueError(f"no host in {host_or_url!r}")
    return value


def bucket_key(host: str) -> str:
    return BUCKET_PREFIX + normalize_host(host)


def hold_key(host: str) -> str:
    return HOLD_PREFIX + normalize_host(host)


# KEYS[1] bucket, KEYS[2] hold (may be absent); ARGV: rate, burst, max_wait (s; < 0 = unlimited).
# Returns {granted 0/1, wait, now, held}: wait = seconds from now until the slot (reserved when granted),
# held = seconds the hold alone still imposes. Numbers go back as strings (Lua numbers become integers).
_BUCKET_LUA = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local base = now
local held = 0
if KEYS[2] ~= nil then
  local until_ = tonumber(redis.call('HGET', KEYS[2], 'until'))
  if until_ ~= nil and until_ > now then
    held = until_ - now
    base = until_
  end
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = base
end
if ts > base then
  base = ts
end
local level = math.min(burst, tokens + (base - ts) * rate)
local go = base
if level < 1 then
  go = base + (1 - level) / rate
  level = 1
end
local wait = go - now
if max_wait >= 0 and wait > max_wait + 1e-9 then
  return {0, string.format('%.6f', wait), string.format('%.6f', now), string.format('%.6f', held)}
end
local left = level - 1
redis.call('HSET', KEYS[1], 'tokens', string.format('%.9f', left), 'ts', string.format('%.6f', go))
local full_in = wait + (burst - left) / rate
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil(full_in * 1000) + 1000))
return {1, string.format('%.6f', wait), string.format('%.6f', now), string.format('%.6f', held)}
"""


@dataclass(frozen=True)
class Grant:
    """One answer of the bucket script. ``at`` = Redis time of the slot (``now + wait``)."""

    granted: bool
    wait: float
    now: float
    held: float

    @property
    def at(self) -> float:
        return self.now + self.wait


class HostRateLimiter:
    """Per-host token bucket in Redis, shared by every worker (see the module docstring).

    ``host_rates``: per-host overrides in requests/s (``{"www.spp.gov.cn": 0.5}``); ``host_bursts`` likewise.
    ``respect_holds``: no token is given out while :class:`HostBackoff` holds the host.
    ``sleep`` and ``clock`` (monotonic seconds) are injectable for tests.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        default_rate: float = DEFAULT_RATE,
        default_burst: int = DEFAULT_BURST,
        host_rates: Mapping[str, float] | None = None,
        host_bursts: Mapping[str, int] | None = None,
        respect_holds: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_rate(default_rate, default_burst)
        self.redis = client
        self.default_rate = float(default_rate)
        self.default_burst = int(default_burst)
        self.host_rates = {normalize_host(h): float(r) for h, r in (host_rates or {}).items()}
        self.host_bursts = {normalize_host(h): int(b) for h, b in (host_bursts or {}).items()}
        for h, r in self.host_rates.items():
            _check_rate(r, self.host_bursts.get(h, 1))
        self.respect_holds = respect_holds
        self.sleep = sleep
        self.clock = clock
        self._script = client.register_script(_BUCKET_LUA)

    def limits_for(self, host: str, rate: float | None = None, burst: int | None = None) -> tuple[float, int]:
        """The (rate, burst) applied to ``host`` when the caller (a source) asks for ``rate``/``burst``."""
        h = normalize_host(host)
        host_rate = self.host_rates.get(h)
        if rate is None:
            eff_rate = host_rate if host_rate is not None else self.default_rate
        else:
            eff_rate = min(rate, host_rate) if host_rate is not None else float(rate)
        host_burst = self.host_bursts.get(h)
        if burst is None:
            eff_burst = host_burst if host_burst is not None else self.default_burst
        else:
            eff_burst = min(burst, host_burst) if host_burst is not None else int(burst)
        _check_rate(eff_rate, eff_burst)
        return eff_rate, eff_burst

    def reserve(
        self, host: str, *, rate: float | None = None, burst: int | None = None, max_wait: float | None = None
    ) -> Grant:
        """Run the bucket script once: take/reserve the next token if it is at most ``max_wait`` s away
        (None = however far). Lower level than :meth:`acquire` / :meth:`try_acquire`."""
        eff_rate, eff_burst = self.limits_for(host, rate, burst)
        keys = [bucket_key(host)]
        if self.respect_holds:
            keys.append(hold_key(host))
        limit = -1.0 if max_wait is None else max(0.0, float(max_wait))
        granted, wait, now, held = self._script(keys=keys, args=[repr(eff_rate), eff_burst, repr(limit)])
        return Grant(bool(int(granted)), max(0.0, float(wait)), float(now), max(0.0, float(held)))

    def try_acquire(self, host: str, rate: float | None = None, burst: int | None = None) -> float:
        """0.0: a token was taken, fetch now. > 0: seconds until one is free; nothing was taken (for tasks
        that re-schedule themselves instead of sleeping)."""
        grant = self.reserve(host, rate=rate, burst=burst, max_wait=0.0)
        return 0.0 if grant.granted else max(grant.wait, 1e-3)

    def acquire(
        self, host: str, *, rate: float | None = None, burst: int | None = None, timeout: float
    ) -> float:
        """Reserve the next slot for ``host`` and sleep until it; returns the seconds waited.

        Raises :class:`RateLimitTimeout` at once (nothing reserved, nothing slept) when the slot is more
        than ``timeout`` seconds away, e.g. because the host is held by a Retry-After."""
        if timeout < 0:
            raise ValueError("timeout must be >= 0")
        grant = self.reserve(host, rate=rate, burst=burst, max_wait=timeout)
        if not grant.granted:
            raise RateLimitTimeout(normalize_host(host), grant.wait, timeout, grant.held)
        if grant.wait > 0:
            end = self.clock() + grant.wait
            self.sleep(grant.wait)
            for _ in range(100):  # a sleep that returned early (signals) sleeps again; bounded
                remaining = end - self.clock()
                if remaining <= 1e-3:
                    break
                self.sleep(remaining)
        return grant.wait

    def reset(self, host: str) -> None:
        """Forget the bucket of ``host`` (a full bucket)."""
        self.redis.delete(bucket_key(host))


def _check_rate(rate: float, burst: int) -> None:
    if not (isinstance(rate, int | float) and math.isfinite(rate) and rate > 0):
        raise ValueError(f"rate must be a positive number of requests per second, not {rate!r}")
    if not (isinstance(burst, int) and burst >= 1):
        raise ValueError(f"burst must be an integer >= 1, not {burst!r}")


# --- holds (Retry-After) ----------------------------------------------------------------------------

# KEYS[1] hold; ARGV: seconds, reason. A hold is only ever extended, never shortened, by another hold.
_HOLD_LUA = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local old = tonumber(redis.call('HGET', KEYS[1], 'until'))
if old ~= nil and old >= until_ then
  return string.format('%.6f', old)
end
redis.call('HSET', KEYS[1], 'until', string.format('%.6f', until_), 'reason', ARGV[2],
  'since', string.format('%.6f', now))
redis.call('PEXPIREAT', KEYS[1], string.format('%d', math.ceil(until_ * 1000) + 1000))
return string.format('%.6f', until_)
"""

# KEYS[1] hold. Returns {until or '', reason or '', now}.
_READ_HOLD_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local h = redis.call('HMGET', KEYS[1], 'until', 'reason')
return {h[1] or '', h[2] or '', string.format('%.6f', now)}
"""


@dataclass(frozen=True)
class Hold:
    host: str
    until: float  # Unix time on the Redis clock
    reason: str
    remaining: float  # seconds left, measured on the Redis clock


class HostBackoff:
    """Holds on hosts that asked us to wait, in Redis so that every worker sees them.

    ``hold(host, seconds, reason)`` after a 429/503 with Retry-After (``seconds`` is cut to ``max_hold``);
    a :class:`HostRateLimiter` (``respect_holds=True``, the default) gives no token for the host until the
    hold ends. Times are on the Redis clock (``TIME``); prefer :meth:`remaining` to comparing
    :meth:`held_until` with a local clock."""

    def __init__(self, client: redis.Redis, *, max_hold: float = DEFAULT_MAX_HOLD) -> None:
        self.redis = client
        self.max_hold = float(max_hold)
        self._hold = client.register_script(_HOLD_LUA)
        self._read = client.register_script(_READ_HOLD_LUA)

    def hold(self, host: str, seconds: float, reason: str = "") -> float:
        """Hold ``host`` for ``seconds`` (never shortening a longer hold); returns the hold's end."""
        if not math.isfinite(seconds):
            seconds = self.max_hold
        seconds = min(max(0.0, float(seconds)), self.max_hold)
        if seconds <= 0:
            return self.held_until(host) or 0.0
        return float(self._hold(keys=[hold_key(host)], args=[repr(seconds), reason[:500]]))

    def status(self, host: str) -> Hold | None:
        until, reason, now = self._read(keys=[hold_key(host)])
        until_s, now_f = _text(until), float(_text(now))
        if not until_s or float(until_s) <= now_f:
            return None
        return Hold(normalize_host(host), float(until_s), _text(reason), float(until_s) - now_f)

    def held_until(self, host: str) -> float | None:
        """Unix time (Redis clock) the hold on ``host`` ends, or None when it is not held."""
        hold = self.status(host)
        return hold.until if hold else None

    def remaining(self, host: str) -> float:
        """Seconds left on the hold (0.0 when not held)."""
        hold = self.status(host)
        return hold.remaining if hold else 0.0

    def release(self, host: str) -> None:
        self.redis.delete(hold_key(host))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# --- adaptive interval --------------------------------------------------------------------------------


def next_interval(
    history: Sequence[datetime],
    *,
    now: datetime,
    min_interval: timedelta,
    max_interval: timedelta,
    current: timedelta,
    factor: float = 0.5,
    window: int = 10,
    min_gaps: int = 2,
) -> timedelta:
    """The poll interval for a source that published at the times in ``history`` (any order).

    ``factor`` (1/2) of the median gap between the last ``window`` distinct publish times, clamped to
    ``[min_interval, max_interval]``. When the source has been silent for longer than that median, the
    silence is taken as the gap (a source that went quiet is polled less and less, up to the ceiling).
    With fewer than ``min_gaps`` gaps (too little history) the ``current`` interval is kept.
    Times after ``now`` are ignored; equal times count once (date-only sources give many equal times).
    All datetimes must be aware (or all naive), like ``now``."""
    if min_interval <= timedelta(0) or max_interval < min_interval:
        raise ValueError(f"need 0 < min_interval <= max_interval, got {min_interval} and {max_interval}")
    times = sorted({t for t in history if t <= now})[-max(2, window) :]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    if len(gaps) < max(1, min_gaps):
        return current
    gap = statistics.median(gaps)
    silence = (now - times[-1]).total_seconds()
    gap = max(gap, silence)
    interval = timedelta(seconds=gap * factor)
    return max(min_interval, min(interval, max_interval))
