"""Every fetch goes through one gate: robots.txt, the host's token bucket and holds (shared by every
worker through Redis), then :func:`syndication.fetch.http.fetch`; a 429/503 with Retry-After holds the
host for every worker.

    gate = Gate(redis_client, user_agent=..., client=..., limits=...)
    gate.fetch(url, etag=..., last_modified=..., rate=source.rate, robots=source.robots) -> FetchResult

Errors: :class:`RobotsDisallowed` (a FetchError) when robots.txt forbids the URL; RateLimitTimeout
(from politeness) when the host is held or booked further ahead than ``wait_limit``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import redis

from syndication.errors import FetchError, HTTPStatusError
from syndication.fetch.http import FetchLimits, fetch
from syndication.fetch.politeness import HostBackoff, HostRateLimiter, normalize_host
from syndication.fetch.robots import RobotsCache, http_fetcher
from syndication.models import FetchResult


class RobotsDisallowed(FetchError):
    pass


def redis_for_broker(broker_url: str) -> redis.Redis:
    """A Redis client on the broker's server: the embedded broker's unix socket or redis://."""
    if broker_url.startswith("redis+socket://"):
        return redis.Redis(unix_socket_path=broker_url.removeprefix("redis+socket://"), socket_timeout=10)
    if broker_url.startswith(("redis://", "rediss://")):
        return redis.Redis.from_url(broker_url, socket_timeout=10)
    raise ValueError(
        f"politeness needs Redis (per-host rate limits shared by every worker); the broker {broker_url!r} "
        "is not Redis"
    )


class Gate:
    def __init__(
        self,
        client: redis.Redis,
        *,
        user_agent: str,
        http: httpx.Client,
        limits: FetchLimits,
        wait_limit: float = 120.0,
        host_rates: dict[str, float] | None = None,
    ) -> None:
        self.limiter = HostRateLimiter(client, host_rates=host_rates)
        self.backoff = HostBackoff(client)
        self.robots = RobotsCache(client)
        self.user_agent = user_agent
        self.http = http
        self.limits = limits
        self.wait_limit = wait_limit
        self._robots_fetcher = http_fetcher(client=http, limits=limits, before=self._wait_turn)

    def _wait_turn(self, url: str, rate: float | None = None) -> None:
        host = urlsplit(url).hostname or ""
        self.limiter.acquire(host, rate=rate, timeout=self.wait_limit)

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        rate: float | None = None,
        robots: bool = True,
    ) -> FetchResult:
        if robots and not self.robots.allowed(url, user_agent=self.user_agent, fetcher=self._robots_fetcher):
            site = urlsplit(url).netloc
            if self.robots.rules(url, fetcher=self._robots_fetcher) is None:  # no rules: it was unreachable
                raise RobotsDisallowed(
                    f"robots.txt of {site} could not be read (unreachable or a server error); as RFC 9309 "
                    "asks, nothing is fetched from the site until it can be read (retried later)",
                    url=url,
                )
            raise RobotsDisallowed(f"robots.txt of {site} disallows {url}", url=url)
        self._wait_turn(url, rate)
        try:
            return fetch(url, etag=etag, last_modified=last_modified, client=self.http, limits=self.limits)
        except HTTPStatusError as e:
            retry_after = getattr(e, "retry_after", None)
            if e.status in (429, 503) and retry_after:
                self.backoff.hold(normalize_host(url), float(retry_after), f"HTTP {e.status}")
            raise
