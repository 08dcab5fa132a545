"""Reusable local test servers for integration tests (stdlib only).

Everything here binds to an ephemeral port on 127.0.0.1 and runs a
:class:`http.server.ThreadingHTTPServer` in a background daemon thread.

* :class:`Origin` - a scriptable origin web server for the fetch side: static bodies with
  conditional GET (ETag / Last-Modified), files from disk, redirects, scripted failures, slow
  answers, dripping bodies and huge (optionally gzip) streamed bodies, plus a thread-safe request log.
* :class:`WebhookReceiver` - records webhook POSTs and verifies their Standard Webhooks signatures
  with an implementation written here, independently of the project's code.
* :func:`standard_webhooks_signature`, :func:`signature_matches`, :func:`timestamp_is_fresh`,
  :func:`verify_standard_webhook` - the independent Standard Webhooks verifier.
* :func:`free_port`, :func:`wait_until` - small helpers.
* :func:`make_rss`, :func:`make_atom` - build fixture feeds programmatically, in any encoding.

Typical use::

    with Origin() as origin:
        origin.add("/feed.xml", make_rss([{"guid": "1", "title": "Hello"}]))
        fetch(origin.url("/feed.xml"))
        assert origin.requests_for("/feed.xml")[0].status == 200
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json as jsonlib
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

__all__ = [
    "Attempt",
    "Origin",
    "RequestRecord",
    "WebhookReceiver",
    "free_port",
    "make_atom",
    "make_rss",
    "signature_matches",
    "standard_webhooks_signature",
    "timestamp_is_fresh",
    "verify_standard_webhook",
    "wait_until",
]

DEFAULT_LAST_MODIFIED = "Wed, 01 Nov 2023 00:00:00 GMT"
WEBHOOK_TOLERANCE_SECONDS = 5 * 60
_BLOCK = 64 * 1024


# --------------------------------------------------------------------------------------------------
# small helpers


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (the OS picks it).

    The port is released before returning, so another process could grab it in between; prefer
    starting servers on port 0 (as :class:`Origin` and :class:`WebhookReceiver` do) where possible.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` every ``interval`` seconds until it returns something truthy.

    Returns True as soon as it does, False if ``timeout`` seconds pass first (the predicate is
    always checked one last time at the deadline).
    """
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return bool(predicate())
        time.sleep(min(interval, remaining))


def _merge_headers(defaults: Mapping[str, str], extra: Mapping[str, str | None] | None) -> dict[str, str]:
    """Overlay ``extra`` on ``defaults`` matching names case-insensitively; a None value removes."""
    merged = dict(defaults)
    for name, value in (extra or {}).items():
        for existing in [k for k in merged if k.lower() == name.lower()]:
            del merged[existing]
        if value is not None:
            merged[name] = value
    return merged


def _strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest() + '"'


def _gzip(data: bytes) -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31 = gzip container
    return comp.compress(data) + comp.flush()


# --------------------------------------------------------------------------------------------------
# server plumbing shared by Origin and WebhookReceiver


class _QuietServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that never prints tracebacks and can cut open connections on stop."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], owner: _BackgroundServer) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Record unexpected handler errors on the owner instead of printing a traceback."""
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, OSError):  # disconnects are not errors here
            self.owner.errors.append(exc)

    def close_connections(self) -> None:
        """Shut down every open client connection (unblocks keep-alive and streaming handlers)."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Quiet HTTP/1.1 handler that treats client disconnects as normal."""

    protocol_version = "HTTP/1.1"
    server_version = "SyndicationTestServer/1.0"
    server: _QuietServer
    record: Any = None  # the RequestRecord / Attempt whose status to fill in when answering

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request stderr logging."""

    def setup(self) -> None:
        super().setup()
        # Without TCP_NODELAY, headers and body written separately stall ~40 ms on delayed ACKs.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:  # client went away (reset, broken pipe, timeout, server stopping)
            self.close_connection = True

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    def lower_headers(self) -> dict[str, str]:
        """The request headers as a dict with lower-cased names (last one wins on duplicates)."""
        return {k.lower(): v for k, v in self.headers.items()}

    def read_body(self) -> bytes:
        """Read the request body (Content-Length or chunked); b"" when there is none."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts: list[bytes] = []
            while True:
                size_line = self.rfile.readline()
                if not size_line:
                    break
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after the chunk
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def start_response(self, status: int, headers: Mapping[str, str]) -> None:
        """Send the status line and headers, noting the status on the current record first."""
        if self.record is not None:
            self.record.status = status
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def respond(self, status: int, headers: Mapping[str, str], body: bytes = b"") -> None:
        """Answer with a complete body (omitted for HEAD, 1xx, 204 and 304)."""
        no_body = self.command == "HEAD" or status in (204, 304) or status < 200
        out = dict(headers)
        if status not in (204, 304) and not any(k.lower() == "content-length" for k in out):
            out["Content-Length"] = str(len(body))
        self.start_response(status, out)
        if not no_body and body:
            self.wfile.write(body)

    def write_chunk(self, data: bytes) -> None:
        """Write one chunk of a ``Transfer-Encoding: chunked`` body (b"" writes the last chunk)."""
        self.wfile.write(f"{len(data):X}\r\n".encode("ascii") + data + b"\r\n")


class _BackgroundServer:
    """Lifecycle shared by the servers: start on an ephemeral port, stop, context manager."""

    _handler_class: ClassVar[type[_Handler]]

    def __init__(self) -> None:
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.errors: list[BaseException] = []  # unexpected handler exceptions (disconnects excluded)

    def start(self) -> Self:
        """Bind to 127.0.0.1 on an ephemeral port and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _QuietServer(self._handler_class, self)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"{type(self).__name__}-{server.server_address[1]}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections, wake sleeping handlers and close the socket."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on (only while started)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def open_connections(self) -> int:
        """How many client connections are being handled right now (0 when stopped)."""
        server = self._server
        if server is None:
            return 0
        with server._connections_lock:
            return len(server._connections)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (only while started)."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def _sleep(self, seconds: float) -> bool:
        """Sleep, waking early if the server stops; True if the full time passed."""
        return not self._stopping.wait(seconds) if seconds > 0 else not self._stopping.is_set()


# --------------------------------------------------------------------------------------------------
# Origin


@dataclass
class RequestRecord:
    """One request the :class:`Origin` received."""

    method: str
    path: str  # path without the query string
    query: str  # query string without "?" ("" if none)
    target: str  # the raw request target, path + query
    headers: dict[str, str]  # lower-cased names
    body: bytes
    time: float  # time.monotonic() at receipt
    wall_time: float  # time.time() at receipt
    status: int | None = None  # status answered; None until the answer starts (or if the client left)

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower())


class _Route:
    """A response recipe for one path."""

    def serve(self, h: _Handler, origin: Origin) -> None:
        raise NotImplementedError


@dataclass
class _Static(_Route):
    body: bytes
    content_type: str | None
    headers: dict[str, str | None]
    status: int
    etag: str | None
    last_modified: str | None
    gzip: bool

    def not_modified(self, request_headers: Mapping[str, str]) -> bool:
        """RFC 9110 evaluation: If-None-Match (weak comparison) wins over If-Modified-Since."""
        if self.status != 200:
            return False
        inm = request_headers.get("if-none-match")
        if inm is not None:
            if self.etag is None:
                return False
            for tag in (t.strip() for t in inm.split(",")):
                if tag == "*" or tag.removeprefix("W/") == self.etag:
                    return True
            return False
        ims = request_headers.get("if-modified-since")
        if ims and self.last_modified:
            try:
                return parsedate_to_datetime(ims) >= parsedate_to_datetime(self.last_modified)
            except (TypeError, ValueError):
                return False
        return False

    def serve(self, h: _Handler, origin: Origin) -> None:
        validators: dict[str, str] = {}
        if self.etag is not None:
            validators["ETag"] = self.etag
        if self.last_modified is not None:
            validators["Last-Modified"] = self.last_modified
        if h.command in ("GET", "HEAD") and self.not_modified(h.lower_headers()):
            extra = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in ("content-type", "content-length", "content-encoding")
            }
            h.respond(304, _merge_headers(validators, extra))
            return
        defaults: dict[str, str] = {}
        if self.content_type is not None:
            defaults["Content-Type"] = self.content_type
        if self.gzip:
            defaults["Content-Encoding"] = "gzip"
        defaults.update(validators)
        h.respond(self.status, _merge_headers(defaults, self.headers), self.body)


@dataclass
class _Redirect(_Route):
    to: str
    status: int

    def serve(self, h: _Handler, origin: Origin) -> None:
        h.respond(self.status, {"Location": self.to, "Content-Type": "text/plain"}, b"")


@dataclass
class _Drip(_Route):
    chunk: bytes
    interval: float
    count: int
    content_type: str | None

    def serve(self, h: _Handler, origin: Origin) -> None:
        headers = {"Content-Length": str(len(self.chunk) * self.count)}
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        h.start_response(200, headers)
        if h.command == "HEAD":
            return
        for _ in range(self.count):
            if not origin._sleep(self.interval):
                h.close_connection = True
                return
            h.wfile.write(self.chunk)
            h.wfile.flush()


@dataclass
class _Huge(_Route):
    size: int
    gzip: bool
    content_type: str | None

    def raw_blocks(self) -> Iterator[bytes]:
        """Exactly ``size`` bytes: an RSS document padded with a long XML comment if room allows."""
        head = b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>huge</title><!--'
        tail = b"--></channel></rss>\n"
        if self.size < len(head) + len(tail):
            yield b" " * self.size
            return
        yield head
        remaining = self.size - len(head) - len(tail)
        block = b"x" * _BLOCK
        while remaining > 0:
            n = min(remaining, _BLOCK)
            yield block if n == _BLOCK else block[:n]
            remaining -= n
        yield tail

    def serve(self, h: _Handler, origin: Origin) -> None:
        headers: dict[str, str] = {}
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        if not self.gzip:
            headers["Content-Length"] = str(self.size)
            h.start_response(200, headers)
            if h.command == "HEAD":
                return
            for block in self.raw_blocks():
                if origin._stopping.is_set():
                    h.close_connection = True
                    return
                h.wfile.write(block)
            return
        # gzip: compressed on the fly, length unknown up front -> chunked transfer encoding
        headers["Content-Encoding"] = "gzip"
        headers["Transfer-Encoding"] = "chunked"
        h.start_response(200, headers)
        if h.command == "HEAD":
            return
        comp = zlib.compressobj(6, zlib.DEFLATED, 31)
        for block in self.raw_blocks():
            if origin._stopping.is_set():
                h.close_connection = True
                return
            out = comp.compress(block)
            if out:
                h.write_chunk(out)
        out = comp.flush()
        if out:
            h.write_chunk(out)
        h.write_chunk(b"")


@dataclass
class _Failure:
    status: int
    remaining: int | None  # None = forever
    body: bytes
    headers: dict[str, str]


class _OriginHandler(_Handler):
    def do_GET(self) -> None:
        self.server.owner._handle(self)  # type: ignore[attr-defined]

    do_HEAD = do_GET
    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET
    do_PATCH = do_GET
    do_OPTIONS = do_GET


class Origin(_BackgroundServer):
    """A scriptable local origin web server on 127.0.0.1 (ephemeral port).

    Register responses per path (the path may include a query string to match one exactly;
    otherwise the query is ignored for matching). Unknown paths answer 404; GET and HEAD are
    served, other methods answer 405 (and are logged). Routes may be changed while running.

    Precedence for a request: :meth:`slow` delay first, then a pending :meth:`fail`, then the
    registered route (:meth:`add`, :meth:`add_file`, :meth:`redirect`, :meth:`drip`, :meth:`huge`).
    """

    _handler_class = _OriginHandler

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self._failures: dict[str, _Failure] = {}
        self._delays: dict[str, float] = {}
        self._log: list[RequestRecord] = []

    # ---- configuration -----------------------------------------------------------------------

    def add(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str | None = "application/rss+xml",
        headers: Mapping[str, str | None] | None = None,
        status: int = 200,
        etag: bool = True,
        last_modified: str | None = DEFAULT_LAST_MODIFIED,
        gzip: bool = False,
    ) -> None:
        """Serve ``body`` at ``path`` (replacing whatever was there).

        With ``etag`` a strong ETag (quoted sha1 of ``body``) is sent; ``last_modified`` (an HTTP
        date, or None for none) is sent as Last-Modified. For a 200 route, a GET/HEAD whose
        If-None-Match matches the ETag (or, without If-None-Match, whose If-Modified-Since is at or
        after Last-Modified) gets 304 with no body. ``headers`` are added to / override the
        defaults (case-insensitive; a None value removes a default header). ``gzip`` sends the
        body gzip-compressed with ``Content-Encoding: gzip`` (the ETag is of the compressed bytes).
        ``content_type=None`` sends no Content-Type.
        """
        payload = _gzip(body) if gzip else bytes(body)
        route = _Static(
            body=payload,
            content_type=content_type,
            headers=dict(headers or {}),
            status=status,
            etag=_strong_etag(payload) if etag else None,
            last_modified=last_modified,
            gzip=gzip,
        )
        self._set_route(path, route)

    def add_file(
        self,
        path: str,
        file: Path | str,
        *,
        content_type: str | None = "application/rss+xml",
        gzip_decompress: bool = False,
        headers: Mapping[str, str | None] | None = None,
        etag: bool = True,
        last_modified: str | None = DEFAULT_LAST_MODIFIED,
    ) -> None:
        """Serve the bytes of ``file`` (read now) at ``path``, like :meth:`add`.

        ``gzip_decompress`` gunzips the file first (for fixtures stored as ``.gz``); the
        decompressed bytes are then served as-is, without Content-Encoding.
        """
        data = Path(file).read_bytes()
        if gzip_decompress:
            data = zlib.decompress(data, 47)  # 32 + 15: auto-detect gzip/zlib header
        self.add(
            path, data, content_type=content_type, headers=headers, etag=etag, last_modified=last_modified
        )

    def redirect(self, path: str, to: str, *, status: int = 301) -> None:
        """Answer ``status`` with ``Location: to`` at ``path`` (``to`` is sent verbatim; pass
        ``origin.url(...)`` for an absolute URL)."""
        self._set_route(path, _Redirect(to=to, status=status))

    def fail(
        self,
        path: str,
        status: int,
        *,
        times: int | None = None,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer ``status`` (with ``body`` and ``headers``, e.g. Retry-After) to the next ``times``
        requests for ``path`` (None = until :meth:`unfail`), then fall back to its route (or 404).
        Works for paths with no route too."""
        with self._lock:
            self._failures[path] = _Failure(status, times, bytes(body), dict(headers or {}))

    def unfail(self, path: str) -> None:
        """Cancel a pending :meth:`fail` for ``path``."""
        with self._lock:
            self._failures.pop(path, None)

    def slow(self, path: str, *, delay: float) -> None:
        """Sleep ``delay`` seconds before answering any request for ``path`` (0 removes it).

        The sleep is cut short when the server stops."""
        with self._lock:
            if delay > 0:
                self._delays[path] = delay
            else:
                self._delays.pop(path, None)

    def drip(
        self,
        path: str,
        *,
        chunk: bytes,
        interval: float,
        count: int,
        content_type: str | None = "application/rss+xml",
    ) -> None:
        """Serve a slow body: headers at once (Content-Length = len(chunk) * count), then ``count``
        chunks, each written after waiting ``interval`` seconds."""
        self._set_route(
            path, _Drip(chunk=bytes(chunk), interval=interval, count=count, content_type=content_type)
        )

    def huge(
        self, path: str, *, size: int, gzip: bool = False, content_type: str | None = "application/rss+xml"
    ) -> None:
        """Serve a body of exactly ``size`` bytes, generated and streamed block by block (never
        held in memory). Without ``gzip`` it announces Content-Length: size; with ``gzip`` the
        bytes are compressed on the fly and sent with ``Content-Encoding: gzip`` and chunked
        transfer encoding (no length announced), so ``size`` is the *decompressed* size - a
        compression bomb. The content is an RSS prologue, an ``x``-filled XML comment and an epilogue."""
        self._set_route(path, _Huge(size=size, gzip=gzip, content_type=content_type))

    def remove(self, path: str) -> None:
        """Forget the route, failure and delay for ``path`` (it then answers 404)."""
        with self._lock:
            self._routes.pop(path, None)
            self._failures.pop(path, None)
            self._delays.pop(path, None)

    def _set_route(self, path: str, route: _Route) -> None:
        with self._lock:
            self._routes[path] = route

    # ---- request log -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._log)

    def requests_for(self, path: str) -> list[RequestRecord]:
        """Requests whose path (query ignored) or full target equals ``path``."""
        return [r for r in self.requests if r.path == path or r.target == path]

    def clear_log(self) -> None:
        """Forget the request log."""
        with self._lock:
            self._log.clear()

    # ---- serving -----------------------------------------------------------------------------

    def _handle(self, h: _Handler) -> None:
        target = h.path
        split = urlsplit(target)
        path = split.path or "/"
        body = h.read_body() if h.command not in ("GET", "HEAD") else b""
        record = RequestRecord(
            method=h.command,
            path=path,
            query=split.query,
            target=target,
            headers=h.lower_headers(),
            body=body,
            time=time.monotonic(),
            wall_time=time.time(),
        )
        h.record = record
        with self._lock:
            self._log.append(record)
            delay = self._delays.get(target, self._delays.get(path, 0.0))
            failure_key = target if target in self._failures else path
            failure = self._failures.get(failure_key)
            if failure is not None and failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    del self._failures[failure_key]
            route = self._routes.get(target) or self._routes.get(path)
        if delay and not self._sleep(delay):
            h.close_connection = True
            return
        if failure is not None:
            h.respond(failure.status, failure.headers, failure.body)
        elif h.command not in ("GET", "HEAD"):
            h.respond(405, {"Allow": "GET, HEAD", "Content-Type": "text/plain"}, b"method not allowed\n")
        elif route is None:
            h.respond(404, {"Content-Type": "text/plain"}, b"not found\n")
        else:
            route.serve(h, self)


# --------------------------------------------------------------------------------------------------
# Standard Webhooks (independent implementation: https://www.standardwebhooks.com/)


def _secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (the prefix is optional)."""
    return base64.b64decode(secret.removeprefix("whsec_"))


def standard_webhooks_signature(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The ``v1,<base64 HMAC-SHA256>`` signature of ``f"{msg_id}.{timestamp}.".encode() + body``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_matches(
    secret: str, msg_id: str, timestamp: int | str, body: bytes, signature_header: str | None
) -> bool:
    """True if any ``v1,<sig>`` entry of the space-separated ``webhook-signature`` header matches.

    Entries of other versions (e.g. ``v1a``) are ignored; comparison is constant-time."""
    if not signature_header:
        return False
    try:
        expected = standard_webhooks_signature(secret, msg_id, timestamp, body).split(",", 1)[1]
    except (binascii.Error, ValueError):
        return False
    for entry in signature_header.split():
        version, _, sig = entry.partition(",")
        if version == "v1" and hmac.compare_digest(sig.encode(), expected.encode()):
            return True
    return False


def timestamp_is_fresh(
    timestamp: int | str | None, now: float, tolerance: float = WEBHOOK_TOLERANCE_SECONDS
) -> bool:
    """True if ``timestamp`` (integer Unix seconds) is within ``tolerance`` seconds of ``now``."""
    try:
        ts = int(str(timestamp))
    except (TypeError, ValueError):
        return False
    return abs(now - ts) <= tolerance


def verify_standard_webhook(
    secret: str,
    msg_id: str | None,
    timestamp: int | str | None,
    body: bytes,
    signature_header: str | None,
    *,
    now: float | None = None,
    tolerance: float = WEBHOOK_TOLERANCE_SECONDS,
) -> bool:
    """Full Standard Webhooks check: headers present, timestamp fresh (vs ``now``, default the
    current time) and a matching ``v1`` signature."""
    if not msg_id or timestamp is None or not signature_header:
        return False
    current = time.time() if now is None else now
    return timestamp_is_fresh(timestamp, current, tolerance) and signature_matches(
        secret, msg_id, timestamp, body, signature_header
    )


# --------------------------------------------------------------------------------------------------
# WebhookReceiver


@dataclass
class Attempt:
    """One POST the :class:`WebhookReceiver` received."""

    webhook_id: str | None  # webhook-id header
    timestamp: int | None  # webhook-timestamp header as an int (None if missing / not an int)
    signature: str | None  # raw webhook-signature header
    body: bytes
    json: Any  # parsed body, or None if it is not JSON
    headers: dict[str, str]  # lower-cased names
    path: str
    attempt_number: int  # 1 for the first POST carrying this webhook-id, 2 for the next, ...
    received_at: float  # time.time() at receipt
    monotonic: float  # time.monotonic() at receipt
    signature_match: bool  # a v1 signature matches (False when the receiver has no secret)
    timestamp_fresh: bool  # webhook-timestamp within 5 minutes of receipt (receiver's clock)
    status: int | None = None  # status answered (None while a delay is pending)

    @property
    def signature_valid(self) -> bool:
        """Signature matches the secret *and* the timestamp is within the tolerance."""
        return self.signature_match and self.timestamp_fresh

    @property
    def delivered(self) -> bool:
        """Answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    def verify(self, secret: str, *, now: float | None = None) -> bool:
        """Re-verify this attempt with another secret (e.g. after a rotation); ``now`` defaults to
        the receipt time."""
        return verify_standard_webhook(
            secret,
            self.webhook_id,
            self.headers.get("webhook-timestamp"),
            self.body,
            self.signature,
            now=self.received_at if now is None else now,
        )


class _ReceiverHandler(_Handler):
    def do_POST(self) -> None:
        self.server.owner._handle(self)  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self.respond(405, {"Allow": "POST", "Content-Type": "text/plain"}, b"POST only\n")

    do_HEAD = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET


class WebhookReceiver(_BackgroundServer):
    """Records webhook POSTs (any path; :attr:`url` is ``base_url + "/hook"``) and checks their
    Standard Webhooks signatures against ``secret`` independently of the project's code.

    * ``fail_first``: each distinct webhook-id gets ``fail_status`` for its first n attempts.
    * ``fail_ids``: these webhook-ids always get ``fail_status``.
    * ``delay``: sleep that long before answering (for timeout tests). The attempt is logged at
      receipt with status None, and its answer (decided at receipt) is filled in after the delay,
      even if the sender has given up meanwhile.
    * ``clock``: wall clock used for the timestamp-freshness check (inject for old test vectors).
    """

    _handler_class = _ReceiverHandler

    def __init__(
        self,
        secret: str | None = None,
        *,
        fail_first: int = 0,
        fail_status: int = 500,
        fail_ids: set[str] | None = None,
        delay: float = 0.0,
        success_status: int = 200,
        clock: Callable[[], float] = time.time,
        path: str = "/hook",
        fail_headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.fail_headers = dict(fail_headers or {})  # sent with failing answers (e.g. Retry-After)
        self.secret = secret
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.fail_ids: set[str] = set(fail_ids or ())
        self.delay = delay
        self.success_status = success_status
        self.clock = clock
        self.path = path
        self._cond = threading.Condition()
        self._attempts: list[Attempt] = []
        self._counts: dict[str | None, int] = {}

    @property
    def url(self) -> str:  # type: ignore[override]
        """The endpoint URL to subscribe: ``base_url + path`` (default ``/hook``)."""
        return self.base_url + self.path

    def set_fail_first(self, n: int, status: int | None = None) -> None:
        """From now on each distinct webhook-id fails its first ``n`` attempts (counting attempts
        already received), answering ``status`` (default: the current ``fail_status``)."""
        with self._cond:
            self.fail_first = n
            if status is not None:
                self.fail_status = status

    @property
    def attempts(self) -> list[Attempt]:
        """A snapshot of every POST received, in arrival order."""
        with self._cond:
            return list(self._attempts)

    def attempts_for(self, webhook_id: str) -> list[Attempt]:
        """Every attempt carrying ``webhook_id``."""
        return [a for a in self.attempts if a.webhook_id == webhook_id]

    def delivered(self) -> list[Attempt]:
        """Attempts answered 2xx, in order."""
        return [a for a in self.attempts if a.delivered]

    def delivered_ids(self) -> list[str | None]:
        """webhook-ids of the 2xx-answered attempts, in order (duplicates kept, so a test can
        assert a message was not delivered twice)."""
        return [a.webhook_id for a in self.delivered()]

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` attempts were answered 2xx; False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: sum(1 for a in self._attempts if a.delivered) >= count, timeout=timeout
            )

    def clear(self) -> None:
        """Forget the attempts and the per-id attempt counts."""
        with self._cond:
            self._attempts.clear()
            self._counts.clear()

    def _handle(self, h: _Handler) -> None:
        body = h.read_body()
        headers = h.lower_headers()
        received_at, mono = self.clock(), time.monotonic()
        webhook_id = headers.get("webhook-id")
        raw_ts = headers.get("webhook-timestamp")
        signature = headers.get("webhook-signature")
        try:
            ts: int | None = int(raw_ts) if raw_ts is not None else None
        except ValueError:
            ts = None
        try:
            parsed = jsonlib.loads(body) if body else None
        except ValueError:
            parsed = None
        secret = self.secret
        match = bool(
            secret
            and webhook_id
            and raw_ts is not None
            and signature_matches(secret, webhook_id, raw_ts, body, signature)
        )
        with self._cond:
            n = self._counts.get(webhook_id, 0) + 1
            self._counts[webhook_id] = n
            failing = n <= self.fail_first or (webhook_id is not None and webhook_id in self.fail_ids)
            status = self.fail_status if failing else self.success_status
            delay = self.delay
            attempt = Attempt(
                webhook_id=webhook_id,
                timestamp=ts,
                signature=signature,
                body=body,
                json=parsed,
                headers=headers,
                path=urlsplit(h.path).path,
                attempt_number=n,
                received_at=received_at,
                monotonic=mono,
                signature_match=match,
                timestamp_fresh=timestamp_is_fresh(raw_ts, received_at),
            )
            self._attempts.append(attempt)
        if delay and not self._sleep(delay):
            h.close_connection = True
            return
        with self._cond:
            attempt.status = status  # set before the answer goes out, so wait_for can't lag behind
            self._cond.notify_all()
        h.record = None
        headers = {"Content-Type": "text/plain", **(self.fail_headers if failing else {})}
        h.respond(status, headers, b"ok\n" if status < 300 else b"failed\n")


# --------------------------------------------------------------------------------------------------
# fixture feeds

_RSS_KEYS = {
    "guid": "guid",
    "id": "guid",
    "guid_is_permalink": "guid_is_permalink",
    "title": "title",
    "link": "link",
    "description": "description",
    "summary": "description",
    "content": "content",
    "pubDate": "pubDate",
    "pub_date": "pubDate",
    "published": "pubDate",
    "updated": "updated",
    "author": "author",
    "source": "source",
    "publisher": "publisher",
    "categories": "categories",
    "tags": "categories",
    "raw": "raw",
}


def _normalize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in item.items():
        canon = _RSS_KEYS.get(key)
        if canon is None:
            raise TypeError(f"unknown feed item key {key!r}; known: {sorted(_RSS_KEYS)}")
        out[canon] = value
    return out


def _el(name: str, text: object, **attrs: str) -> str:
    attr_text = "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items())
    return f"<{name}{attr_text}>{escape(str(text))}</{name}>"


def _source_parts(source: Any, default_url: str) -> tuple[str, str]:
    if isinstance(source, Mapping):
        return str(source.get("name") or source.get("title") or ""), str(source.get("url") or default_url)
    return str(source), default_url


def _encode(xml_text: str, encoding: str) -> bytes:
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>\n'
    return (declaration + xml_text).encode(encoding, errors="xmlcharrefreplace")


def make_rss(
    items: Iterable[Mapping[str, Any]],
    *,
    title: str = "Test feed",
    link: str = "https://example.org/",
    description: str = "A feed for tests",
    language: str | None = None,
    encoding: str = "utf-8",
) -> bytes:
    """An RSS 2.0 document, encoded in ``encoding`` with a matching XML declaration.

    Item keys (all optional, emitted only when given; unknown keys raise TypeError):
    ``guid``/``id`` (``isPermaLink="false"`` unless ``guid_is_permalink``), ``title``, ``link``,
    ``description``/``summary`` (HTML text, escaped), ``content`` (``content:encoded``),
    ``pubDate``/``published`` (string as given), ``updated`` (``atom:updated``), ``author``
    (``<author>`` if it contains "@", else ``dc:creator``), ``source`` (``<source url=...>``; a
    name, or a dict with ``name`` and ``url``), ``publisher`` (``dc:publisher``),
    ``categories``/``tags`` (list of strings), ``raw`` (XML inserted verbatim into the item).
    Characters the encoding cannot represent become numeric character references.
    """
    parts = [
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        _el("title", title),
        _el("link", link),
        _el("description", description),
    ]
    if language:
        parts.append(_el("language", language))
    for raw_item in items:
        item = _normalize_item(raw_item)
        p = ["<item>"]
        if "title" in item:
            p.append(_el("title", item["title"]))
        if "link" in item:
            p.append(_el("link", item["link"]))
        if "guid" in item:
            permalink = "true" if item.get("guid_is_permalink") else "false"
            p.append(_el("guid", item["guid"], isPermaLink=permalink))
        if "description" in item:
            p.append(_el("description", item["description"]))
        if "content" in item:
            p.append(_el("content:encoded", item["content"]))
        if "pubDate" in item:
            p.append(_el("pubDate", item["pubDate"]))
        if "updated" in item:
            p.append(_el("atom:updated", item["updated"]))
        if "author" in item:
            author = str(item["author"])
            p.append(_el("author" if "@" in author else "dc:creator", author))
        if "source" in item:
            name, url = _source_parts(item["source"], link)
            p.append(_el("source", name, url=url))
        if "publisher" in item:
            p.append(_el("dc:publisher", item["publisher"]))
        for category in item.get("categories") or ():
            p.append(_el("category", category))
        if "raw" in item:
            p.append(str(item["raw"]))
        p.append("</item>")
        parts.append("".join(p))
    parts.append("</channel></rss>\n")
    return _encode("\n".join(parts), encoding)


def make_atom(
    items: Iterable[Mapping[str, Any]],
    *,
    title: str = "Test feed",
    link: str = "https://example.org/",
    feed_id: str | None = None,
    updated: str = "2023-11-01T00:00:00Z",
    encoding: str = "utf-8",
) -> bytes:
    """An Atom 1.0 document, encoded in ``encoding`` with a matching XML declaration.

    Same item keys as :func:`make_rss`, mapped to Atom: ``guid`` -> ``<id>``, ``link`` ->
    ``<link rel="alternate">``, ``description`` -> ``<summary type="html">``, ``content`` ->
    ``<content type="html">``, ``pubDate`` -> ``<published>`` (as given; also ``<updated>`` unless
    ``updated`` is given), ``author`` -> ``<author><name>``, ``source`` -> ``<source><title>``
    (+ ``<link>``), ``publisher`` -> ``dc:publisher``, ``categories`` -> ``<category term>``.
    """
    parts = [
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">',
        _el("title", title),
        f'<link rel="alternate" href={quoteattr(link)}/>',
        _el("id", feed_id or link),
        _el("updated", updated),
    ]
    for raw_item in items:
        item = _normalize_item(raw_item)
        p = ["<entry>"]
        if "guid" in item:
            p.append(_el("id", item["guid"]))
        if "title" in item:
            p.append(_el("title", item["title"], type="html"))
        if "link" in item:
            p.append(f'<link rel="alternate" href={quoteattr(str(item["link"]))}/>')
        if "pubDate" in item:
            p.append(_el("published", item["pubDate"]))
        if "updated" in item or "pubDate" in item:
            p.append(_el("updated", item.get("updated", item.get("pubDate"))))
        if "author" in item:
            p.append("<author>" + _el("name", item["author"]) + "</author>")
        if "description" in item:
            p.append(_el("summary", item["description"], type="html"))
        if "content" in item:
            p.append(_el("content", item["content"], type="html"))
        if "source" in item:
            name, url = _source_parts(item["source"], link)
            p.append(
                "<source>" + _el("title", name) + f'<link rel="alternate" href={quoteattr(url)}/></source>'
            )
        if "publisher" in item:
            p.append(_el("dc:publisher", item["publisher"]))
        for category in item.get("categories") or ():
            p.append(f"<category term={quoteattr(str(category))}/>")
        if "raw" in item:
            p.append(str(item["raw"]))
        p.append("</entry>")
        parts.append("".join(p))
    parts.append("</feed>\n")
    return _encode("\n".join(parts), encoding)
