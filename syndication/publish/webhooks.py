"""Webhook deliveries per Standard Webhooks 1.0 (https://www.standardwebhooks.com): payload, signing, POST.

One delivery, as the ``deliver`` task drives it::

    msg_id  = new_message_id()                          once per delivery, stored, reused on every retry
    payload = build_payload(item, channel_ids=..., timestamp=event_time)
    body    = encode_payload(payload)                    the exact bytes signed and sent
    headers = signed_headers(secret, msg_id, attempt_ts, body)   attempt_ts: now, per attempt
    status  = post(url, headers=headers, body=body)      DeliveryError on anything but 2xx
    on DeliveryError: wait retry_delay(attempt, base=, cap=, rng=) then try again, or dead-letter

Signing (the spec's symmetric scheme): the secret is ``whsec_`` + base64 of the key bytes; the
signature is ``v1,`` + base64(HMAC-SHA256(key, f"{msg_id}.{timestamp}.".encode() + body)), sent in
``webhook-signature`` together with ``webhook-id`` and ``webhook-timestamp`` (unix seconds). A header
may hold several space-separated signatures (secret rotation: sign with the new and the old secret).

Delivery outcome, as the spec advises: 2xx is success; everything else is a failure, including 3xx
(redirects are not followed: following them doubles the load on both ends and could lead a signed
payload somewhere the operator never configured; the error names the ``Location`` so the operator can
fix the URL). The caller decides what a status means for the schedule (e.g. 410: disable the
endpoint; 429/502/503/504: back off); the answer's ``Retry-After`` is quoted in the error message.

Payload (``type`` / ``timestamp`` / ``data``, all times ISO 8601 UTC with ``Z``)::

    {"type": "article.published", "timestamp": "...Z",
     "data": {"id", "guid", "title", "url", "summary", "content_html", "content_text", "categories",
              "published_at", "updated_at",
              "attachments": [{"url", "title", "mime_type", "size_in_bytes"}],   ([] when none)
              "provenance": {"original_url", "publisher", "author", "published_at", "source_id",
                             "source_name", "also_at": [{"source_id", "source_name", "url",
                                                         "seen_at", "published_at"}]},
              "attribution": {"template", "html", "text"},
              "channels": [...]}}

Keys are always present; unknown values are ``null``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import random
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from syndication import USER_AGENT
from syndication.errors import DeliveryError
from syndication.models import Attachment, Provenance, PublishedItem, Sighting

__all__ = [
    "EVENT_PUBLISHED",
    "SECRET_PREFIX",
    "attachment_json",
    "build_payload",
    "encode_payload",
    "new_message_id",
    "new_secret",
    "post",
    "provenance_json",
    "retry_delay",
    "secret_key",
    "sign",
    "signed_headers",
    "verify",
]

EVENT_PUBLISHED = "article.published"
SECRET_PREFIX = "whsec_"
_SECRET_FORM = "(expected 'whsec_' followed by the base64 of 24-64 random bytes)"
_SNIPPET_BYTES = 2048  # read at most this much of a failed answer
_SNIPPET_CHARS = 200  # and quote at most this much of it


# --- ids and secrets --------------------------------------------------------------------------------


def new_message_id() -> str:
    """A fresh delivery id, ``msg_`` + 128 random bits, URL-safe. Store it: retries reuse it."""
    return "msg_" + secrets.token_urlsafe(16)


def new_secret(nbytes: int = 32) -> str:
    """A fresh signing secret in the spec's form, ``whsec_`` + base64 of ``nbytes`` random bytes."""
    if not 24 <= nbytes <= 64:
        raise ValueError("Standard Webhooks secrets are 24 to 64 bytes")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key in ``secret``: base64-decode what follows ``whsec_``.

    A secret without the prefix is base64-decoded all the same, as the reference libraries do, so
    both ends derive the same key from the same string. Missing ``=`` padding is tolerated; anything
    that is not base64 raises ValueError (without echoing the secret).
    """
    encoded = secret.strip()
    if encoded.startswith(SECRET_PREFIX):
        encoded = encoded[len(SECRET_PREFIX) :]
    encoded += "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"webhook secret is not valid base64 {_SECRET_FORM}") from e
    if not key:
        raise ValueError(f"webhook secret is empty {_SECRET_FORM}")
    return key


# --- signing and verifying ------------------------------------------------------------------------


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``{msg_id}.{timestamp}.{body}`` under ``secret``."""
    if not msg_id or "." in msg_id:
        raise ValueError(f"webhook message id must be non-empty and contain no '.': {msg_id!r}")
    to_sign = f"{msg_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(secret_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str | Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The request headers for one attempt. ``secret`` may be several (rotation): one signature each."""
    secrets_ = [secret] if isinstance(secret, str) else list(secret)
    if not secrets_:
        raise ValueError("at least one webhook secret is needed to sign")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets_),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: int, tolerance: int = 300) -> None:
    """Check a received webhook as a consumer would; ValueError says what is wrong.

    Header names are matched case-insensitively. The timestamp must be within ``tolerance`` seconds of
    ``now`` either way (replay protection); one ``v1`` signature of the space-separated list must match
    (constant-time comparison). Signatures of other schemes (``v1a``) are skipped.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id", "")
    ts_text = lower.get("webhook-timestamp", "")
    signatures = lower.get("webhook-signature", "")
    missing = [
        name
        for name, v in (
            ("webhook-id", msg_id),
            ("webhook-timestamp", ts_text),
            ("webhook-signature", signatures),
        )
        if not v
    ]
    if missing:
        raise ValueError(f"missing webhook header(s): {', '.join(missing)}")
    if not re.fullmatch(r"[0-9]{1,12}", ts_text.strip()):
        raise ValueError(f"webhook-timestamp is not unix seconds: {ts_text[:40]!r}")
    timestamp = int(ts_text)
    if timestamp < now - tolerance:
        raise ValueError(f"webhook timestamp too old ({now - timestamp} s > {tolerance} s)")
    if timestamp > now + tolerance:
        raise ValueError(f"webhook timestamp too new ({timestamp - now} s ahead > {tolerance} s)")
    expected = sign(secret, msg_id, timestamp, body).encode("ascii")
    for candidate in signatures.split():
        if candidate.startswith("v1,") and hmac.compare_digest(
            candidate.encode("ascii", "replace"), expected
        ):
            return
    raise ValueError("no matching webhook signature")


# --- payload --------------------------------------------------------------------------------------


def build_payload(
    item: PublishedItem,
    *,
    channel_ids: Sequence[str],
    event: str = EVENT_PUBLISHED,
    timestamp: datetime,
) -> dict[str, Any]:
    """The Standard Webhooks payload for ``event`` about ``item``; ``timestamp`` is when it happened."""
    return {
        "type": event,
        "timestamp": _iso(timestamp),
        "data": {
            "id": item.article_id,
            "guid": item.guid,
            "title": item.title,
            "url": item.link,
            "summary": item.summary,
            "content_html": item.content_html,
            "content_text": item.content_text,
            "categories": list(item.categories),
            "attachments": [attachment_json(a) for a in item.attachments],
            "published_at": _iso(item.published_at),
            "updated_at": _iso(item.updated_at),
            "provenance": provenance_json(item.provenance),
            "attribution": {
                "template": item.template,
                "html": item.attribution_html,
                "text": item.attribution_text,
            },
            "channels": list(channel_ids),
        },
    }


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """Compact JSON with sorted keys, UTF-8 (not ``\\u`` escapes): the bytes that are signed and sent."""
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def attachment_json(a: Attachment) -> dict[str, Any]:
    """``data.attachments[]``: the names of JSON Feed 1.1's attachments, but ``mime_type`` is null when
    unknown (the JSON feed, ``publish.feeds.render_json``, leaves unknowns out instead)."""
    return {"url": a.url, "title": a.title, "mime_type": a.mime_type, "size_in_bytes": a.length}


def provenance_json(prov: Provenance) -> dict[str, Any]:
    """``data.provenance``; also the JSON feed's ``_syndication`` extension (``publish.feeds``)."""
    return {
        "original_url": prov.original_url,
        "publisher": prov.publisher,
        "author": prov.author,
        "published_at": _iso_or_none(prov.published_at),
        "source_id": prov.source_id,
        "source_name": prov.source_name,
        "also_at": [_sighting(s) for s in prov.also_at],
    }


def _sighting(s: Sighting) -> dict[str, Any]:
    return {
        "source_id": s.source_id,
        "source_name": s.source_name,
        "url": s.url,
        "seen_at": _iso(s.seen_at),
        "published_at": _iso_or_none(s.published_at),
    }


def _iso(dt: datetime) -> str:
    """ISO 8601 in UTC with ``Z`` (microseconds only when there are any)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()}: webhook times must be tz-aware")
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _iso_or_none(dt: datetime | None) -> str | None:
    return None if dt is None else _iso(dt)


# --- sending --------------------------------------------------------------------------------------


def post(
    url: str,
    *,
    headers: Mapping[str, str],
    body: bytes,
    timeout: float = 15.0,
    client: httpx.Client | None = None,
) -> int:
    """POST ``body`` to ``url`` once; return the 2xx status, else raise DeliveryError.

    A non-2xx answer (3xx included: redirects are not followed) raises ``DeliveryError(status=...)``
    whose message quotes the status, ``Location``/``Retry-After`` when given and the start of the
    answer (at most 2 KB is read, whatever the endpoint sends). A timeout, a refused connection or
    an unusable URL raises ``DeliveryError`` with ``status=None``. Pass ``client`` to reuse
    connections or to inject a transport (tests, an address guard against SSRF).
    """
    if client is None:
        with httpx.Client(follow_redirects=False) as own:
            return _post(own, url, headers, body, timeout)
    return _post(client, url, headers, body, timeout)


def _post(client: httpx.Client, url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> int:
    try:
        with client.stream(
            "POST", url, content=body, headers=dict(headers), timeout=timeout, follow_redirects=False
        ) as response:
            status = response.status_code
            if 200 <= status < 300:
                return status
            snippet = _snippet(response)
            location = response.headers.get("location")
            retry_after = response.headers.get("retry-after")
    except httpx.TimeoutException as e:
        raise DeliveryError(f"POST {url}: timed out after {timeout:g} s ({type(e).__name__})") from e
    except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol) as e:
        raise DeliveryError(f"POST {url}: {type(e).__name__}: {e}") from e
    parts = [f"POST {url}: answered {status}"]
    if 300 <= status < 400:
        parts.append(f"redirect to {location or '?'} not followed; configure the final URL")
    if retry_after:
        parts.append(f"Retry-After: {retry_after[:40]}")
    if snippet:
        parts.append(repr(snippet))
    from syndication.fetch.http import parse_retry_after

    raise DeliveryError("; ".join(parts), status=status, retry_after=parse_retry_after(retry_after))


def _snippet(response: httpx.Response) -> str:
    data = b""
    try:
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) >= _SNIPPET_BYTES:
                break
    except httpx.HTTPError:
        pass  # the status is what matters; a broken body only shortens the message
    text = " ".join(data[:_SNIPPET_BYTES].decode("utf-8", "replace").split())
    return text if len(text) <= _SNIPPET_CHARS else text[:_SNIPPET_CHARS] + "…"


# --- retry schedule -------------------------------------------------------------------------------


def retry_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based) before the next one.

    Exponential backoff with "equal jitter": ``d = min(cap, base * 2**(attempt-1))``, then a uniform
    pick in ``[d/2, d]``. Capping before jittering keeps retries that have reached the cap spread out
    instead of all firing at exactly ``cap``. ``rng`` is passed in so schedules can be reproduced.
    """
    if attempt < 1:
        raise ValueError(f"attempt is 1-based, got {attempt}")
    if base < 0 or cap < 0:
        raise ValueError("base and cap must not be negative")
    exponential = base * 2.0 ** min(attempt - 1, 1000)  # no OverflowError on absurd attempt counts
    delay = min(cap, exponential)
    return delay * rng.uniform(0.5, 1.0)
