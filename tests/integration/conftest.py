"""Integration fixtures: a real Redis broker, the `syndication` command run as a user runs it, a local
origin server and a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.servers import Origin, WebhookReceiver

SYNDICATION = str(Path(sys.executable).parent / "syndication")
REDIS_DB = 11
SECRET = "whsec_" + base64.b64encode(b"integration-test-secret-32bytes!").decode()

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_timeout=5)
    try:
        client.flushdb()
    except redis.RedisError as e:  # CI starts Redis: its absence is a failure, not a skip
        pytest.fail(f"Redis on 127.0.0.1:6379 is required for integration tests: {e}")
    return f"redis://127.0.0.1:6379/{REDIS_DB}"


@pytest.fixture
def origin() -> Iterator[Origin]:
    with Origin() as o:
        yield o


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(SECRET) as r:
        yield r


@dataclass
class Deployment:
    """A data folder, a config file and the environment the `syndication` command runs with."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.root / "syndication.toml"

    def write_config(self, text: str) -> None:
        self.config.write_text(text, encoding="utf-8")

    def run(self, *args: str, timeout: float = 180, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [SYNDICATION, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )
        if check and proc.returncode != 0:
            logs = ""
            for log in sorted((self.root / "data" / "logs").glob("*.log")):
                logs += f"\n--- {log.name}\n" + log.read_text(errors="replace")[-4000:]
            raise AssertionError(
                f"syndication {' '.join(args)} exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}{logs}"
            )
        return proc

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"{args[0]}.out").open("ab")
        return subprocess.Popen(
            [SYNDICATION, *args],
            env=self.env,
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a test can SIGKILL a worker and its pool
        )


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env.update(
        SYNDICATION_DATA_DIR=str(tmp_path / "data"),
        SYNDICATION_CONFIG=str(tmp_path / "syndication.toml"),
        SYNDICATION_WEBHOOK_RETRY_BASE="0.2",
        SYNDICATION_WEBHOOK_TIMEOUT="5",
        PYTHONUNBUFFERED="1",
    )
    return Deployment(root=tmp_path, env=env)


def source_toml(sid: str, name: str, url: str, *, priority: int = 0, tz: str = "Asia/Shanghai") -> str:
    return (
        f'[[sources]]\nid = "{sid}"\nname = "{name}"\nkind = "feed"\nurl = "{url}"\n'
        f'interval = "15m"\npriority = {priority}\ntimezone = "{tz}"\n\n'
    )


def channel_toml(cid: str, title: str, sources: list[str], template: str = "zh", limit: int = 50) -> str:
    quoted = ", ".join(f'"{s}"' for s in sources)
    return (
        f'[[channels]]\nid = "{cid}"\ntitle = "{title}"\nsources = [{quoted}]\n'
        f'template = "{template}"\nlimit = {limit}\n\n'
    )


def webhook_toml(wid: str, url: str, channels: list[str], secret: str = SECRET) -> str:
    quoted = ", ".join(f'"{c}"' for c in channels)
    return f'[[webhooks]]\nid = "{wid}"\nurl = "{url}"\nchannels = [{quoted}]\nsecret = "{secret}"\n\n'
