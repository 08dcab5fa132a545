"""fetch.http: conditional GET, redirects, caps, error mapping. MockTransport, plus one real local server."""

from __future__ import annotations

import gzip
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

import syndication
from syndication.errors import (
    BodyTooLarge,
    FetchConnectError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TooManyRedirects,
)
from syndication.fetch.http import FetchLimits, fetch, make_client, parse_retry_after

FEED = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title></channel></rss>'
Handler = Callable[[httpx.Request], httpx.Response]


DEFAULT_LIMITS = FetchLimits()


def client_for(handler: Handler, limits: FetchLimits = DEFAULT_LIMITS) -> httpx.Client:
    return make_client(limits, transport=httpx.MockTransport(handler))


def answer(
    status: int = 200, headers: dict[str, str] | None = None, stream: httpx.SyncByteStream | None = None
) -> Handler:
    """A handler that always gives the same response (a fresh one per request)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, stream=stream)

    return handler


class Chunks(httpx.SyncByteStream):
    """A response body delivered in pieces, optionally with a pause before each."""

    def __init__(self, chunks: list[bytes], pause: float = 0.0) -> None:
        self.chunks = chunks
        self.pause = pause
        self.delivered = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            if self.pause:
                time.sleep(self.pause)
            self.delivered += 1
            yield chunk


def test_200_returns_body_headers_and_validators() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={
                "Content-Type": "application/rss+xml",
                "ETag": '"v1"',
                "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT",
            },
            content=FEED,
        )

    with client_for(handler) as client:
        result = fetch("https://gov.example/rss.xml", client=client)
    assert result.status == 200
    assert result.content == FEED
    assert result.url == "https://gov.example/rss.xml"
    assert result.content_type == "application/rss+xml"
    assert all(name == name.lower() for name in result.headers)
    assert (result.etag, result.last_modified) == ('"v1"', "Mon, 01 Jan 2024 00:00:00 GMT")
    assert result.redirects == () and result.permanent_redirect is None
    assert result.elapsed_ms >= 0


def test_request_headers_name_the_project_and_ask_for_feeds() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=FEED)

    with client_for(handler) as client:
        fetch("https://gov.example/rss.xml", client=client)
    headers = seen[0].headers
    assert headers["user-agent"] == syndication.USER_AGENT
    assert "application/rss+xml" in headers["accept"] and "application/atom+xml" in headers["accept"]
    assert {c.strip() for c in headers["accept-encoding"].split(",")} >= {"gzip", "deflate"}
    assert "if-none-match" not in headers and "if-modified-since" not in headers


def test_conditional_get_sends_validators_and_304_keeps_them() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(304, headers={"Cache-Control": "max-age=60"})

    with client_for(handler) as client:
        result = fetch(
            "https://gov.example/rss.xml",
            etag='"abc"',
            last_modified="Tue, 02 Jan 2024 10:00:00 GMT",
            client=client,
        )
    assert seen[0].headers["if-none-match"] == '"abc"'
    assert seen[0].headers["if-modified-since"] == "Tue, 02 Jan 2024 10:00:00 GMT"
    assert result.not_modified and result.status == 304 and result.content == b""
    assert result.etag == '"abc"'
    assert result.last_modified == "Tue, 02 Jan 2024 10:00:00 GMT"
    assert result.headers["cache-control"] == "max-age=60"


def test_304_prefers_the_validators_it_answers_with() -> None:
    with client_for(answer(304, {"ETag": '"new"'})) as client:
        result = fetch("https://gov.example/rss.xml", etag='"old"', last_modified="x", client=client)
    assert (result.etag, result.last_modified) == ('"new"', "x")


def redirecting(routes: dict[str, tuple[int, str]]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        route = routes.get(request.url.path)
        if route:
            return httpx.Response(route[0], headers={"Location": route[1]})
        return httpx.Response(200, content=FEED)

    return handler


def test_permanent_redirect_chain_is_reported() -> None:
    handler = redirecting({"/a": (301, "/b"), "/b": (308, "https://other.example/c")})
    with client_for(handler) as client:
        result = fetch("https://gov.example/a", client=client)
    assert result.url == "https://other.example/c"
    assert result.redirects == ("https://gov.example/a", "https://gov.example/b")
    assert result.permanent_redirect == "https://other.example/c"
    assert result.content == FEED


def test_a_temporary_hop_means_no_permanent_redirect() -> None:
    handler = redirecting({"/a": (301, "/b"), "/b": (302, "/c")})
    with client_for(handler) as client:
        result = fetch("https://gov.example/a", client=client)
    assert result.url == "https://gov.example/c"
    assert len(result.redirects) == 2
    assert result.permanent_redirect is None


def test_redirect_loop_is_caught() -> None:
    handler = redirecting({"/a": (302, "/b"), "/b": (302, "/a")})
    with client_for(handler) as client, pytest.raises(TooManyRedirects, match="loop") as info:
        fetch("https://gov.example/a", client=client)
    assert info.value.url == "https://gov.example/b"


def test_five_redirects_are_followed_six_are_too_many() -> None:
    five = redirecting({f"/{i}": (301, f"/{i + 1}") for i in range(5)})
    with client_for(five) as client:
        assert fetch("https://gov.example/0", client=client).url == "https://gov.example/5"
    six = redirecting({f"/{i}": (301, f"/{i + 1}") for i in range(6)})
    with client_for(six) as client, pytest.raises(TooManyRedirects, match="more than 5"):
        fetch("https://gov.example/0", client=client)


def test_redirect_to_another_scheme_is_refused() -> None:
    handler = redirecting({"/a": (302, "file:///etc/passwd")})
    with client_for(handler) as client, pytest.raises(FetchError, match="scheme"):
        fetch("https://gov.example/a", client=client)


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("coding", "pack"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),
        ("gzip", lambda b: gzip.compress(b[:500]) + gzip.compress(b[500:]) + b"\0\0"),  # 2 members, padding
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw", "gzip-multi-member"],
)
def test_compressed_body_is_decoded(coding: str, pack: Callable[[bytes], bytes]) -> None:
    body = FEED * 100
    packed = pack(body)
    member = len(gzip.compress(body[:500])) if coding == "gzip" else 20
    # Split inside the header, and (multi-member) exactly where the second member starts.
    stream = Chunks([packed[:10], packed[10:member], packed[member:]])
    with client_for(answer(200, {"Content-Encoding": coding}, stream)) as client:
        assert fetch("https://gov.example/rss.xml", client=client).content == body


def test_gzip_bomb_stops_at_the_cap_without_inflating_it() -> None:
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))  # ~50 KB on the wire
    limits = FetchLimits(max_bytes=1024 * 1024)
    handler = answer(200, {"Content-Encoding": "gzip"}, httpx.ByteStream(bomb))
    tracemalloc.start()
    try:
        with client_for(handler, limits) as client, pytest.raises(BodyTooLarge, match="after decompression"):
            fetch("https://gov.example/rss.xml", client=client, limits=limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(bomb) < limits.max_bytes  # the cap is on decompressed bytes, not what travelled
    assert peak < 8 * 1024 * 1024  # far below the 50 MB a one-shot inflate would take


def test_content_length_over_the_cap_is_refused_before_reading() -> None:
    stream = Chunks([b"x" * 1000] * 10)
    limits = FetchLimits(max_bytes=5000)
    handler = answer(200, {"Content-Length": "10000"}, stream)
    with client_for(handler, limits) as client, pytest.raises(BodyTooLarge, match="announced") as info:
        fetch("https://gov.example/rss.xml", client=client, limits=limits)
    assert stream.delivered == 0
    assert info.value.url == "https://gov.example/rss.xml"


def test_body_without_length_over_the_cap_stops_early() -> None:
    stream = Chunks([b"x" * 1000] * 100)
    limits = FetchLimits(max_bytes=5000)
    with (
        client_for(answer(200, stream=stream), limits) as client,
        pytest.raises(BodyTooLarge),
    ):
        fetch("https://gov.example/rss.xml", client=client, limits=limits)
    assert stream.delivered == 6


@pytest.mark.parametrize(
    ("status", "message"), [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error")]
)
def test_error_status_is_an_http_status_error(status: int, message: str) -> None:
    with client_for(answer(status)) as client, pytest.raises(HTTPStatusError) as info:
        fetch("https://gov.example/rss.xml", client=client)
    assert str(info.value) == message
    assert info.value.status == status
    assert info.value.url == "https://gov.example/rss.xml"
    assert getattr(info.value, "retry_after", "unset") is None


def test_429_and_503_carry_retry_after() -> None:
    too_many = client_for(answer(429, {"Retry-After": "120"}))
    with too_many as client, pytest.raises(HTTPStatusError, match="HTTP 429 Too Many Requests") as info:
        fetch("https://gov.example/rss.xml", client=client)
    assert getattr(info.value, "retry_after", None) == 120

    later = format_datetime(datetime.now(UTC) + timedelta(seconds=300), usegmt=True)
    unavailable = client_for(answer(503, {"Retry-After": later}))
    with unavailable as client, pytest.raises(HTTPStatusError, match="HTTP 503 Service Unavailable") as info:
        fetch("https://gov.example/rss.xml", client=client)
    assert 290 <= getattr(info.value, "retry_after", 0) <= 301


def test_parse_retry_after() -> None:
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("0", now=now) == 0
    assert parse_retry_after("Mon, 01 Jan 2024 12:01:30 GMT", now=now) == 90
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("raised", "mapped"),
    [
        (httpx.ConnectTimeout, FetchTimeout),
        (httpx.ReadTimeout, FetchTimeout),
        (httpx.ConnectError, FetchConnectError),
        (httpx.RemoteProtocolError, FetchError),
    ],
)
def test_transport_errors_are_mapped(raised: type[httpx.TransportError], mapped: type[FetchError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise raised("boom", request=request)

    with client_for(handler) as client, pytest.raises(mapped) as info:
        fetch("https://gov.example/rss.xml", client=client)
    assert type(info.value) is mapped
    assert info.value.url == "https://gov.example/rss.xml"
    assert isinstance(info.value.__cause__, raised)


def test_slow_body_hits_the_total_timeout_with_mock_transport() -> None:
    stream = Chunks([b"x"] * 100, pause=0.05)
    limits = FetchLimits(total_timeout=0.3)
    with client_for(answer(200, stream=stream), limits) as client:
        started = time.monotonic()
        with pytest.raises(FetchTimeout, match="total time limit"):
            fetch("https://gov.example/rss.xml", client=client, limits=limits)
    assert time.monotonic() - started < 1.0
    assert stream.delivered < 100


@pytest.mark.parametrize(
    "url", ["ftp://gov.example/rss.xml", "file:///etc/passwd", "not a url", "http://", "javascript:alert(1)"]
)
def test_only_http_and_https_urls(url: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may be sent")

    with client_for(handler) as client, pytest.raises(FetchError) as info:
        fetch(url, client=client)
    assert info.value.url == url


def test_unsupported_content_encoding_is_a_fetch_error() -> None:
    handler = answer(200, {"Content-Encoding": "compress"}, Chunks([b"x"]))
    with client_for(handler) as client, pytest.raises(FetchError, match="Content-Encoding"):
        fetch("https://gov.example/rss.xml", client=client)


def test_corrupt_gzip_is_a_fetch_error() -> None:
    handler = answer(200, {"Content-Encoding": "gzip"}, Chunks([b"not gzip"]))
    with client_for(handler) as client, pytest.raises(FetchError, match="decompress") as info:
        fetch("https://gov.example/rss.xml", client=client)
    assert info.value.url == "https://gov.example/rss.xml"


class _SlowDrip(BaseHTTPRequestHandler):
    """Announces 1,000 bytes and sends one every 50 ms (at most 60, so the thread always ends)."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(60):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_slow_drip_from_a_real_local_server_hits_the_total_timeout() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowDrip)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
        limits = FetchLimits(timeout=2.0, total_timeout=0.6)
        started = time.monotonic()
        with pytest.raises(FetchTimeout) as info:
            fetch(url, limits=limits)
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert 0.5 <= elapsed < 2.0  # each byte arrived well within the 2 s read timeout; the total cap fired
    assert info.value.url == url
