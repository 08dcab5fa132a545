"""robots.txt (RFC 9309), parsed here and cached in Redis for every worker.

    RobotsCache(redis).allowed(url, user_agent=UA, fetcher=f)  -> bool
    RobotsCache(redis).crawl_delay(url, UA, fetcher=f)         -> float | None
    parse_robots(text) -> RobotsRules                           (pure; .allowed(url, ua), .crawl_delay(ua))
    http_fetcher(client=..., limits=...)                        a fetcher on syndication.fetch.http.fetch

A fetcher is ``callable(url) -> (status, body bytes)``; it may raise (unreachable). What a robots.txt
answer means (RFC 9309 2.3.1):

    2xx                   the rules in the body (the first 500 KiB are read)          cached ``ttl`` (1 day)
    3xx (not resolved)    "unavailable": everything allowed                          cached ``ttl``
    4xx except 429        "unavailable": everything allowed                          cached ``ttl``
    429, 5xx, exception   "unreachable": everything disallowed for now               cached ``error_ttl``
                          (retry later; the caller records "disallowed by robots.txt" and tries again)

The cache key is scheme + host + port (``https://www.spp.gov.cn:443``): robots.txt applies to exactly
that origin. While one worker fetches a robots.txt the others wait for its answer (a lock in Redis), so
two workers starting on one new host fetch it once.

Why not :mod:`urllib.robotparser`: it applies the *first* rule in file order instead of the longest
match, knows no ``*`` or ``$``, picks the first group whose name is a *substring* of our agent and
never merges groups with the same agent. The matcher here follows RFC 9309 as Google's reference
parser does: the longest pattern wins, Allow wins a tie, ``*`` matches any run of characters and a
final ``$`` anchors the end; the groups naming our product token are merged, else the ``*`` groups;
``/robots.txt`` itself is always allowed. ``tests/unit/test_robots.py`` shows robotparser's answers
beside ours.

Per-source override: a source configured with ``robots = false`` is the caller's business: it simply
does not ask this cache (and says so in its log). Nothing here knows about sources.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import redis

from syndication.errors import HTTPStatusError, TooManyRedirects
from syndication.fetch.http import FetchLimits, fetch

__all__ = [
    "DEFAULT_ERROR_TTL",
    "DEFAULT_TTL",
    "MAX_ROBOTS_BYTES",
    "ROBOTS_PREFIX",
    "Fetcher",
    "RobotsCache",
    "RobotsRules",
    "http_fetcher",
    "origin_key",
    "parse_robots",
    "product_token",
]

log = logging.getLogger(__name__)

ROBOTS_PREFIX = "syndication:robots:"
DEFAULT_TTL = 24 * 3600.0
DEFAULT_ERROR_TTL = 10 * 60.0
MAX_ROBOTS_BYTES = 500 * 1024

Fetcher = Callable[[str], tuple[int, bytes]]

ALLOW_ALL = "allow"
DISALLOW_ALL = "disallow"
RULES = "rules"


# --- parsing and matching ------------------------------------------------------------------------------

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEX = "0123456789ABCDEFabcdef"
_TOKEN_END = re.compile(r"[^a-z0-9_-]")
_KEYS = {
    "user-agent": "user-agent",
    "useragent": "user-agent",
    "user agent": "user-agent",
    "allow": "allow",
    "disallow": "disallow",
    "dissallow": "disallow",
    "dissalow": "disallow",
    "disalow": "disallow",
    "crawl-delay": "crawl-delay",
    "crawldelay": "crawl-delay",
    "sitemap": "sitemap",
    "site-map": "sitemap",
}


def normalize_path(value: str) -> str:
    """Percent-encoding made comparable (RFC 9309 2.2.2): bytes outside ASCII are %-encoded (UTF-8),
    %XX of an unreserved character is decoded, other escapes get upper-case hex."""
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch == "%" and i + 2 < n and value[i + 1] in _HEX and value[i + 2] in _HEX:
            decoded = chr(int(value[i + 1 : i + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + value[i + 1 : i + 3].upper())
            i += 3
            continue
        if ord(ch) > 0x7F or ch.isspace():
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass")))
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def product_token(user_agent: str) -> str:
    """``syndication/0.1.0 (+https://...)`` -> ``syndication``: the name matched against User-agent lines."""
    token = user_agent.strip().lower()
    match = _TOKEN_END.search(token)
    return (token[: match.start()] if match else token) or "*"


def _agent_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("*"):
        return "*"
    match = _TOKEN_END.search(value)
    return value[: match.start()] if match else value


@dataclass(frozen=True)
class Rule:
    allow: bool
    pattern: str  # normalized; may hold '*' and a final '$'

    @property
    def priority(self) -> int:
        return len(self.pattern)

    def matches(self, path: str) -> bool:
        return _pattern_matches(self.pattern, path)


def _pattern_matches(pattern: str, path: str) -> bool:
    """Google's matcher: O(len(pattern) * len(path)), no regex (no catastrophic backtracking)."""
    anchored = pattern.endswith("$")
    if anchored:
        pattern = pattern[:-1]
    if "*" not in pattern:
        return path == pattern if anchored else path.startswith(pattern)
    n = len(path)
    positions = [0]  # ascending ends of the prefix of path matched so far
    for ch in pattern:
        if ch == "*":
            positions = list(range(positions[0], n + 1))
        else:
            positions = [p + 1 for p in positions if p < n and path[p] == ch]
            if not positions:
                return False
    return positions[-1] == n if anchored else True


@dataclass
class Group:
    agents: list[str] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    crawl_delay: float | None = None


@dataclass
class RobotsRules:
    """A parsed robots.txt. ``allowed`` takes a URL or a path (with its query)."""

    groups: list[Group] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)

    def _groups_for(self, user_agent: str) -> list[Group]:
        token = product_token(user_agent)
        mine = [g for g in self.groups if token in g.agents]
        return mine or [g for g in self.groups if "*" in g.agents]

    def rules_for(self, user_agent: str) -> list[Rule]:
        return [r for g in self._groups_for(user_agent) for r in g.rules]

    def allowed(self, url: str, user_agent: str) -> bool:
        path = _path_of(url)
        if path == "/robots.txt":
            return True
        best: Rule | None = None
        for rule in self.rules_for(user_agent):
            if not rule.matches(path):
                continue
            if (
                best is None
                or rule.priority > best.priority
                or (rule.priority == best.priority and rule.allow and not best.allow)
            ):
                best = rule
        return best is None or best.allow

    def crawl_delay(self, user_agent: str) -> float | None:
        for group in self._groups_for(user_agent):
            if group.crawl_delay is not None:
                return group.crawl_delay
        return None


def _path_of(url: str) -> str:
    if "://" in url:
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
    else:
        path = url.split("#", 1)[0] or "/"
    return normalize_path(path)


def parse_robots(text: str | bytes) -> RobotsRules:
    """Parse a robots.txt body (bytes are read as UTF-8, the first 500 KiB). Unknown lines are ignored."""
    if isinstance(text, bytes):
        text = text[:MAX_ROBOTS_BYTES].decode("utf-8", "replace")
    text = text.removeprefix("\ufeff")
    rules = RobotsRules()
    current: list[Group] = []  # the groups the following rules belong to
    last_was_agent = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        key, value = line.split(":", 1)
        kind = _KEYS.get(" ".join(key.lower().split()))
        value = value.strip()
        if kind is None:
            continue
        if kind == "sitemap":
            if value:
                rules.sitemaps.append(value)
            continue  # not part of any group (RFC 9309 2.2.4)
        if kind == "user-agent":
            if not last_was_agent:
                current = [Group()]
                rules.groups.append(current[0])
            if value:
                current[0].agents.append(_agent_name(value))
            last_was_agent = True
            continue
        last_was_agent = False
        if not current:
            continue  # rules before any user-agent line
        group = current[0]
        if kind == "crawl-delay":
            try:
                delay = float(value)
            except ValueError:
                continue
            if math.isfinite(delay) and delay >= 0 and group.crawl_delay is None:
                group.crawl_delay = delay
        elif value:  # an empty Disallow allows everything: no rule
            group.rules.append(Rule(allow=kind == "allow", pattern=_normalize_pattern(value)))
    return rules


def _normalize_pattern(value: str) -> str:
    pattern = normalize_path(value)
    pattern = re.sub(r"\*+", "*", pattern)
    if not pattern.startswith(("/", "*")):
        pattern = "/" + pattern
    return pattern


# --- the cache ---------------------------------------------------------------------------------------


def origin_key(url: str) -> str:
    """``HTTPS://WWW.x.cn/a?b`` -> ``https://www.x.cn:443``."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    port = parts.port or (443 if scheme == "https" else 80)
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class _Entry:
    state: str  # ALLOW_ALL | DISALLOW_ALL | RULES
    token: str  # changes with every fetch
    rules: RobotsRules | None = None


class RobotsCache:
    """robots.txt answers cached in Redis (``syndication:robots:<scheme>://<host>:<port>``), shared by
    every worker; a parsed copy is kept in-process while the Redis entry is unchanged.

    ``ttl``: how long a fetched answer (rules, or "unavailable" = allow all) is trusted (1 day, as RFC
    9309 asks). ``error_ttl``: how long "unreachable" (5xx, 429, network error = disallow all) is kept
    before robots.txt is asked again. ``lock_wait``: how long a worker waits for another worker that is
    fetching the same robots.txt before fetching it itself."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        ttl: float = DEFAULT_TTL,
        error_ttl: float = DEFAULT_ERROR_TTL,
        max_bytes: int = MAX_ROBOTS_BYTES,
        lock_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        memo_size: int = 256,
    ) -> None:
        self.redis = client
        self.ttl = ttl
        self.error_ttl = error_ttl
        self.max_bytes = max_bytes
        self.lock_wait = lock_wait
        self.sleep = sleep
        self.clock = clock
        self.memo_size = memo_size
        self._memo: OrderedDict[str, _Entry] = OrderedDict()

    # public API

    def allowed(self, url: str, *, user_agent: str, fetcher: Fetcher) -> bool:
        """May ``user_agent`` fetch ``url``? Fetches robots.txt through ``fetcher`` when not cached.
        ``url`` must be http(s) (ValueError otherwise)."""
        if _path_of(url) == "/robots.txt":
            return True
        entry = self._entry(url, fetcher)
        if entry.state == RULES and entry.rules is not None:
            return entry.rules.allowed(url, user_agent)
        return entry.state == ALLOW_ALL

    def crawl_delay(self, url: str, user_agent: str, *, fetcher: Fetcher | None = None) -> float | None:
        """The Crawl-delay (seconds) robots.txt asks of ``user_agent``, or None. Without ``fetcher`` only
        a cached robots.txt is consulted (None when there is none)."""
        if fetcher is None:
            entry = self._cached(origin_key(url))
            if entry is None:
                return None
        else:
            entry = self._entry(url, fetcher)
        if entry.state == RULES and entry.rules is not None:
            return entry.rules.crawl_delay(user_agent)
        return None

    def rules(self, url: str, *, fetcher: Fetcher) -> RobotsRules | None:
        """The parsed robots.txt of ``url``'s origin (None when it allows or disallows everything)."""
        return self._entry(url, fetcher).rules

    def forget(self, url: str) -> None:
        origin = origin_key(url)
        self.redis.delete(ROBOTS_PREFIX + origin)
        self._memo.pop(origin, None)

    # internals

    def _entry(self, url: str, fetcher: Fetcher) -> _Entry:
        origin = origin_key(url)
        entry = self._cached(origin)
        if entry is not None:
            return entry
        key = ROBOTS_PREFIX + origin
        lock = key + ":lock"
        owner = secrets.token_hex(8)
        lock_ms = int(max(self.lock_wait, 1.0) * 1000) + 5000
        deadline = self.clock() + self.lock_wait
        owned = False
        while not (owned := bool(self.redis.set(lock, owner, nx=True, px=lock_ms))):
            if self.clock() >= deadline:
                break  # the other worker is taking too long: fetch it ourselves
            self.sleep(0.05)
            entry = self._cached(origin)
            if entry is not None:
                return entry
        try:
            entry = self._cached(origin)  # stored while we took the lock
            if entry is not None:
                return entry
            return self._fetch_and_store(origin, fetcher)
        finally:
            if owned and _text(self.redis.get(lock) or b"") == owner:
                self.redis.delete(lock)

    def _cached(self, origin: str) -> _Entry | None:
        key = ROBOTS_PREFIX + origin
        state_b, token_b = self.redis.hmget(key, ["state", "fetched"])
        if state_b is None or token_b is None:
            self._memo.pop(origin, None)
            return None
        state, token = _text(state_b), _text(token_b)
        memo = self._memo.get(origin)
        if memo is not None and memo.token == token:
            self._memo.move_to_end(origin)
            return memo
        rules = None
        if state == RULES:
            body = self.redis.hget(key, "body")
            if body is None:
                return None
            rules = parse_robots(_text(body))
        entry = _Entry(state, token, rules)
        self._remember(origin, entry)
        return entry

    def _fetch_and_store(self, origin: str, fetcher: Fetcher) -> _Entry:
        robots_url = origin + "/robots.txt"
        body = b""
        error = ""
        try:
            status, body = fetcher(robots_url)
        except Exception as e:  # an unreachable robots.txt must never crash the worker
            status, error = 0, f"{type(e).__name__}: {e}"
        if 200 <= status < 300:
            state, ttl = RULES, self.ttl
        elif 300 <= status < 500 and status != 429:
            state, ttl = ALLOW_ALL, self.ttl
        else:
            state, ttl = DISALLOW_ALL, self.error_ttl
            error = error or f"HTTP {status}"
            log.warning("robots.txt of %s unreachable (%s): disallowing all for %g s", origin, error, ttl)
        text = body[: self.max_bytes].decode("utf-8", "replace") if state == RULES else ""
        seconds, micros = self.redis.time()
        token = f"{seconds}.{micros:06d}"
        key = ROBOTS_PREFIX + origin
        fields = ["state", state, "fetched", token, "status", str(status), "error", error, "body", text]
        pipe = self.redis.pipeline()
        pipe.delete(key)
        pipe.hset(key, items=fields)
        pipe.pexpire(key, max(1, int(ttl * 1000)))
        pipe.execute()
        entry = _Entry(state, token, parse_robots(text) if state == RULES else None)
        self._remember(origin, entry)
        return entry

    def _remember(self, origin: str, entry: _Entry) -> None:
        self._memo[origin] = entry
        self._memo.move_to_end(origin)
        while len(self._memo) > self.memo_size:
            self._memo.popitem(last=False)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# --- a fetcher on syndication.fetch.http ---------------------------------------------------------------


def http_fetcher(
    *,
    client: httpx.Client | None = None,
    limits: FetchLimits | None = None,
    before: Callable[[str], object] | None = None,
) -> Fetcher:
    """A fetcher built on :func:`syndication.fetch.http.fetch`: HTTP errors become ``(status, b"")``,
    an unresolved redirect chain ``(3xx, b"")`` (RFC 9309: unavailable); timeouts and connection errors
    propagate (unreachable). ``before(url)`` runs before each request (e.g. ``limiter.acquire``).
    ``limits`` is a FetchLimits; its ``max_bytes`` should stay above 500 KiB."""
    fetch_limits = limits or FetchLimits()

    def get(url: str) -> tuple[int, bytes]:
        if before is not None:
            before(url)
        try:
            result = fetch(url, client=client, limits=fetch_limits)
        except HTTPStatusError as e:
            return e.status or 500, b""
        except TooManyRedirects as e:
            return e.status or 310, b""
        return result.status, result.content

    return get
