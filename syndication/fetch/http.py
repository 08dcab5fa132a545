"""Fetch one URL over HTTP(S): conditional GET, redirects, size and time caps, errors as FetchError.

    fetch(url, etag=..., last_modified=...)
      -> GET with If-None-Match / If-Modified-Since, our User-Agent, feed-friendly Accept
      -> redirects followed here, hop by hop (loop and count checked; 301/308-only chains reported
         as ``permanent_redirect`` so the caller can update the source's URL)
      -> 304: FetchResult(status=304), validators carried over from the request when the answer has none
      -> 4xx/5xx: HTTPStatusError("HTTP 404 Not Found"), ``retry_after`` seconds attached when given
      -> 2xx: the body streamed and decompressed here, in bounded steps, so a gzip bomb or a slow drip
         stops at ``max_bytes`` (counted after decompression) or ``total_timeout``

Every httpx error is mapped onto :mod:`syndication.errors` (``raise ... from e``, ``url`` attached).
Tests inject ``httpx.MockTransport`` through :func:`make_client`.
"""

from __future__ import annotations

import email.utils
import importlib.util
import math
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

import syndication
from syndication.errors import (
    BodyTooLarge,
    FetchConnectError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TooManyRedirects,
)
from syndication.models import FetchResult

__all__ = ["ACCEPT", "FetchLimits", "fetch", "make_client", "parse_retry_after"]

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/html;q=0.7, */*;q=0.5"
)
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_PERMANENT_CODES = frozenset({301, 308})


def _brotli_module() -> str | None:
    for name in ("brotli", "brotlicffi"):
        if importlib.util.find_spec(name) is not None:
            return name
    return None


_BROTLI = _brotli_module()
ACCEPT_ENCODING = "gzip, deflate" + (", br" if _BROTLI else "")


@dataclass(frozen=True)
class FetchLimits:
    timeout: float = 20.0  # per read/connect/write
    total_timeout: float = 60.0  # wall-clock cap for the whole fetch incl. a slow-drip body
    max_bytes: int = 10 * 1024 * 1024  # cap on body size, counted AFTER decompression (gzip bombs)
    max_redirects: int = 5
    user_agent: str = syndication.USER_AGENT


def make_client(
    limits: FetchLimits = FetchLimits(), transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """An httpx client with our headers and timeouts; redirects are left to :func:`fetch`."""
    return httpx.Client(
        timeout=httpx.Timeout(limits.timeout),
        follow_redirects=False,
        headers=_request_headers(limits),
        transport=transport,
    )


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    client: httpx.Client | None = None,
    limits: FetchLimits = FetchLimits(),
) -> FetchResult:
    """GET ``url`` (conditionally, when validators are given) within ``limits``. Raises FetchError."""
    _check_url(url, url)
    own_client = client is None
    http = client if client is not None else make_client(limits)
    try:
        return _fetch(http, url, etag, last_modified, limits)
    finally:
        if own_client:
            http.close()


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> int | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP-date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0, math.ceil((when - now).total_seconds()))


# --- the fetch loop ----------------------------------------------------------------------------------


def _fetch(
    client: httpx.Client, url: str, etag: str | None, last_modified: str | None, limits: FetchLimits
) -> FetchResult:
    started = time.monotonic()
    deadline = started + limits.total_timeout
    headers = _request_headers(limits)
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    redirects: list[str] = []
    seen = {url}
    all_permanent = True
    current = url
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchTimeout(f"gave up after {limits.total_timeout:g} s (total time limit)", url=current)
        timeout = httpx.Timeout(min(limits.timeout, remaining))
        with _mapped_errors(current):
            request = client.build_request("GET", current, headers=headers, timeout=timeout)
            response = client.send(request, stream=True)
        try:
            status = response.status_code
            location = response.headers.get("location")
            if status in _REDIRECT_CODES and location:
                target = _redirect_target(response, location, current)
                redirects.append(current)
                all_permanent = all_permanent and status in _PERMANENT_CODES
                if target in seen:
                    raise TooManyRedirects(
                        f"redirect loop: {current} -> {target}", url=current, status=status
                    )
                if len(redirects) > limits.max_redirects:
                    raise TooManyRedirects(
                        f"more than {limits.max_redirects} redirects (last {current} -> {target})",
                        url=current,
                        status=status,
                    )
                seen.add(target)
                current = target
                continue
            resp_headers = {k.lower(): v for k, v in response.headers.items()}
            if status == 304:
                return FetchResult(
                    url=current,
                    status=304,
                    content=b"",
                    headers=resp_headers,
                    etag=response.headers.get("etag") or etag,
                    last_modified=response.headers.get("last-modified") or last_modified,
                    elapsed_ms=(time.monotonic() - started) * 1000,
                    redirects=tuple(redirects),
                    permanent_redirect=current if redirects and all_permanent else None,
                )
            if status >= 400:
                raise _status_error(response, current)
            if not 200 <= status < 300:
                raise FetchError(f"unexpected HTTP {status} {_reason(response)}", url=current, status=status)
            with _mapped_errors(current):
                content = _read_body(response, limits, deadline, current)
            return FetchResult(
                url=current,
                status=status,
                content=content,
                headers=resp_headers,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                elapsed_ms=(time.monotonic() - started) * 1000,
                redirects=tuple(redirects),
                permanent_redirect=current if redirects and all_permanent else None,
            )
        finally:
            response.close()


def _request_headers(limits: FetchLimits) -> dict[str, str]:
    return {"User-Agent": limits.user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}


def _check_url(url: str, reported: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as e:
        raise FetchError(f"invalid URL {url!r}: {e}", url=reported) from e
    if parsed.scheme not in ("http", "https"):
        raise FetchError(
            f"unsupported URL scheme {parsed.scheme!r} in {url!r} (only http and https)", url=reported
        )
    if not parsed.host:
        raise FetchError(f"invalid URL {url!r}: no host", url=reported)
    return parsed


def _redirect_target(response: httpx.Response, location: str, current: str) -> str:
    try:
        target = response.url.join(location.strip())
    except (httpx.InvalidURL, ValueError) as e:
        raise FetchError(f"invalid redirect Location {location!r}: {e}", url=current) from e
    absolute = str(target).split("#", 1)[0]
    _check_url(absolute, current)
    return absolute


def _status_error(response: httpx.Response, url: str) -> HTTPStatusError:
    err = HTTPStatusError(
        f"HTTP {response.status_code} {_reason(response)}", url=url, status=response.status_code
    )
    # errors.py gives HTTPStatusError no field for it; callers read getattr(e, "retry_after", None).
    setattr(err, "retry_after", parse_retry_after(response.headers.get("retry-after")))  # noqa: B010
    return err


def _reason(response: httpx.Response) -> str:
    return response.reason_phrase or httpx.codes.get_reason_phrase(response.status_code) or "Unknown"


@contextmanager
def _mapped_errors(url: str) -> Iterator[None]:
    """Translate httpx exceptions raised inside the block into FetchError subclasses."""
    try:
        yield
    except httpx.TimeoutException as e:
        raise FetchTimeout(f"timed out ({type(e).__name__}) fetching {url}", url=url) from e
    except httpx.ConnectError as e:
        raise FetchConnectError(f"cannot connect to {url}: {e}", url=url) from e
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as e:
        raise FetchError(f"invalid or unsupported URL {url}: {e}", url=url) from e
    except httpx.HTTPError as e:
        raise FetchError(f"{type(e).__name__} fetching {url}: {e}", url=url) from e


# --- body: stream, decompress in bounded steps, enforce caps -----------------------------------------


def _read_body(response: httpx.Response, limits: FetchLimits, deadline: float, url: str) -> bytes:
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise BodyTooLarge(
            f"body of {int(declared):,} bytes announced, over the {limits.max_bytes:,} byte cap",
            url=url,
            status=response.status_code,
        )
    if response.is_stream_consumed:
        # Built with content= (MockTransport handlers): httpx has already read and decoded it.
        content = response.content
        if len(content) > limits.max_bytes:
            raise BodyTooLarge(
                f"body of {len(content):,} bytes, over the {limits.max_bytes:,} byte cap",
                url=url,
                status=response.status_code,
            )
        return content
    decode = _decoder(response.headers.get("content-encoding", ""), url)
    chunks: list[bytes] = []
    size = 0
    for raw in _raw_chunks(response):
        if raw and time.monotonic() > deadline:
            raise FetchTimeout(
                f"body still arriving after {limits.total_timeout:g} s (total time limit)", url=url
            )
        # Ask for at most one byte over the cap: a decompression bomb never inflates past it in memory.
        out = decode(raw, limits.max_bytes - size + 1)
        size += len(out)
        if size > limits.max_bytes:
            raise BodyTooLarge(
                f"body over the {limits.max_bytes:,} byte cap (after decompression)",
                url=url,
                status=response.status_code,
            )
        chunks.append(out)
    return b"".join(chunks)


def _raw_chunks(response: httpx.Response) -> Iterator[bytes]:
    yield from response.iter_raw()
    yield b""  # flush the decoder


_Decode = Callable[[bytes, int], bytes]


def _decoder(content_encoding: str, url: str) -> _Decode:
    """The decoder for the response's Content-Encoding (one coding; stacked codings are refused)."""
    codings = [
        c.strip().lower() for c in content_encoding.split(",") if c.strip().lower() not in ("", "identity")
    ]
    if not codings:
        return lambda data, limit: data
    if len(codings) > 1:
        # Bounding memory through a stack of decoders is not worth it for a case no feed server uses.
        raise FetchError(f"unsupported stacked Content-Encoding {content_encoding!r}", url=url)
    coding = codings[0]
    if coding in ("gzip", "x-gzip"):
        return _ZlibStep(gzip=True)
    if coding == "deflate":
        return _ZlibStep(gzip=False)
    if coding == "br" and _BROTLI:
        return _BrotliStep()
    raise FetchError(f"unsupported Content-Encoding {coding!r}", url=url)


class _ZlibStep:
    """Incremental gzip/deflate with an output limit per call (multi-member gzip, raw or zlib deflate).

    Output stops at ``limit`` bytes; the caller treats reaching it as "over the cap" and stops reading,
    so input left unconsumed then is never needed.
    """

    def __init__(self, *, gzip: bool) -> None:
        self.gzip = gzip
        self.raw_deflate = False
        self.started = False
        self.obj = self._new()

    def _new(self) -> zlib._Decompress:
        if self.gzip:
            return zlib.decompressobj(zlib.MAX_WBITS | 16)
        return zlib.decompressobj(-zlib.MAX_WBITS if self.raw_deflate else zlib.MAX_WBITS)

    def __call__(self, data: bytes, limit: int) -> bytes:
        out = bytearray()
        try:
            if not data:
                return bytes(self.obj.flush())
            while data and len(out) < limit:
                if self.obj.eof:
                    # Another gzip member may follow; anything else after the end (padding) is ignored.
                    if not (self.gzip and b"\x1f\x8b".startswith(data[:2])):
                        break
                    self.obj = self._new()
                try:
                    out += self.obj.decompress(data, limit - len(out))
                except zlib.error:
                    if self.gzip or self.started:
                        raise
                    # "deflate" served as a raw stream without the zlib header: retry that way.
                    self.raw_deflate, self.started = True, True
                    self.obj = self._new()
                    continue
                self.started = True
                data = self.obj.unconsumed_tail or (self.obj.unused_data if self.obj.eof else b"")
        except zlib.error as e:
            raise httpx.DecodingError(f"cannot decompress the body: {e}") from e
        return bytes(out)


class _BrotliStep:
    def __init__(self) -> None:
        module = __import__(_BROTLI or "brotli")
        self.obj = module.Decompressor()

    def __call__(self, data: bytes, limit: int) -> bytes:
        if not data:
            return b""
        try:
            return bytes(self.obj.process(data))
        except Exception as e:  # brotli raises its own error type
            raise httpx.DecodingError(f"cannot decompress the brotli body: {e}") from e
