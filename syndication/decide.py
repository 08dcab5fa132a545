"""Pure decisions: when to poll next, which sighting is the original, how to key an item.

No database, no HTTP, no clock: time and randomness are arguments. Tested with tables of inputs.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from syndication.models import Item

URN_PREFIXES = ("http://", "https://", "tag:", "urn:")


def text_hash(text: str | None) -> str | None:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() if text else None


def url_match_key(url: str) -> str:
    """What two links must share to be the same page at two sources: the canonical URL without its
    scheme, a leading ``www.`` or a trailing slash (``http://www.x.cn/a/`` ~ ``https://x.cn/a``)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    if parts.port:
        host += f":{parts.port}"
    path = parts.path.rstrip("/")
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")


def url_hash(url: str | None) -> str | None:
    return text_hash(url_match_key(url)) if url else None


def guid_hash(guid: str | None) -> str | None:
    """A URL-like GUID is hashed like a link, so a GUID at one source matches a link at another."""
    if guid and guid.lower().startswith(("http://", "https://")):
        return url_hash(guid)
    return text_hash(guid)


def _keyed(prefix: str, value: str) -> str:
    return prefix + (value if len(value) <= 200 else "sha256:" + (text_hash(value) or ""))


def item_key(item: Item) -> str:
    """The natural key of an entry within its source: GUID, else its link exactly as given (fragment
    and all: ``notices.html#n1`` and ``#n2`` are two entries), else content hash. Values over 200
    characters are replaced by their SHA-256 (the key column is indexed)."""
    if item.guid:
        return _keyed("guid:", item.guid)
    if item.link or item.canonical_url:
        return _keyed("url:", item.link or item.canonical_url or "")
    return "hash:" + item.content_hash


def guid_is_global(guid: str | None) -> bool:
    """A GUID that can identify an article across sources (a URL, tag: or urn:). Bare numbers or
    short tokens ("1234") are only unique within their own feed."""
    return guid is not None and guid.lower().startswith(URN_PREFIXES) and len(guid) >= 12


def jittered(delay: timedelta, rng: random.Random, spread: float = 0.1) -> timedelta:
    """``delay`` shifted by up to ±spread of itself, so that sources added together drift apart."""
    return delay * (1 + rng.uniform(-spread, spread))


def next_poll_after_success(now: datetime, interval: timedelta, rng: random.Random) -> datetime:
    return now + jittered(interval, rng)


def failure_backoff(interval: timedelta, failures: int, cap: timedelta) -> timedelta:
    """Exponential back-off for a failing source: interval, 2x, 4x, ... up to ``cap`` (but never
    below the interval itself). The source is never given up on: it recovers on its next success."""
    failures = max(1, failures)
    delay = interval * (2 ** min(failures - 1, 20))
    return max(interval, min(delay, cap))


def next_poll_after_failure(
    now: datetime,
    interval: timedelta,
    failures: int,
    cap: timedelta,
    rng: random.Random,
    retry_after: float | None = None,
) -> datetime:
    delay = failure_backoff(interval, failures, cap)
    # equal jitter: half fixed, half random, so retries of many failing sources spread out
    delay = delay / 2 + delay / 2 * rng.random()
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=min(retry_after, cap.total_seconds())))
    return now + delay


@dataclass(frozen=True)
class Candidate:
    """A sighting competing to be the original of its article."""

    sighting_id: int
    priority: int
    published_at: datetime | None
    first_seen_at: datetime


def choose_original(candidates: Sequence[Candidate]) -> Candidate:
    """Highest source priority, then the earliest publish time (unknown last), then first seen."""
    if not candidates:
        raise ValueError("no candidates")
    far = datetime.max.replace(tzinfo=candidates[0].first_seen_at.tzinfo)
    return min(
        candidates,
        key=lambda c: (-c.priority, c.published_at or far, c.first_seen_at, c.sighting_id),
    )
