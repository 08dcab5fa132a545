"""The deployment roles as docker-compose runs them: `db upgrade`, `worker`, `beat`, `web`, each its own
process on real Redis. Beat finds due sources in the database; the web app serves the stored feeds with
ETag / 304; work whose broker message was lost (Redis restarted empty) is found again."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import redis

from tests.integration.conftest import Deployment, channel_toml, source_toml
from tests.integration.test_run_once import official_feed, parse
from tests.servers import Origin, free_port, wait_until


@contextmanager
def processes(*procs: subprocess.Popen[bytes]) -> Iterator[None]:
    try:
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def served_entries(port: int, fmt: str) -> int:
    """How many entries the web app serves in the news channel's feed (0 while it is not up)."""
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/feeds/news.{fmt}", timeout=2)
    except httpx.HTTPError:
        return 0
    return r.content.count(b"<item>" if fmt == "rss" else b"<entry>") if r.status_code == 200 else 0


def setup(d: Deployment, origin: Origin, redis_url: str) -> int:
    port = free_port()
    d.env.update(
        SYNDICATION_BROKER_URL=redis_url,
        SYNDICATION_LISTEN=f"127.0.0.1:{port}",
        SYNDICATION_SCHEDULE_EVERY="0.5",
        SYNDICATION_SWEEP_EVERY="1",
        SYNDICATION_POLL_LEASE_SECONDS="3",
    )
    origin.add("/spp.xml", official_feed())
    d.write_config(
        source_toml("spp", "最高人民检察院", origin.url("/spp.xml"))
        + channel_toml("news", "检察要闻", ["spp"])
    )
    return port


def test_roles_refuse_a_database_that_is_behind(
    deployment: Deployment, origin: Origin, redis_url: str
) -> None:
    d = deployment
    setup(d, origin, redis_url)
    for role in ("web", "worker", "beat", "feed news"):
        out = d.run(*role.split(), check=False, timeout=60)
        assert out.returncode != 0, role
        assert "syndication db upgrade" in out.stderr, (role, out.stderr)
    assert "-> 0001" in d.run("db", "upgrade").stdout
    assert "database: 0001; code: 0001" in d.run("db", "current").stdout


def test_worker_beat_and_web(deployment: Deployment, origin: Origin, redis_url: str) -> None:
    d = deployment
    port = setup(d, origin, redis_url)
    d.run("db", "upgrade")
    base = f"http://127.0.0.1:{port}"
    with processes(d.popen("worker", "-c", "2"), d.popen("beat"), d.popen("web")):
        assert wait_until(lambda: served_entries(port, "rss") > 0, timeout=60), (
            d.root / "worker.out"
        ).read_text()[-3000:]
        assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
        for fmt in ("rss", "atom"):
            r = httpx.get(f"{base}/feeds/news.{fmt}")
            assert len(parse(r.content).entries) == 2
            assert r.headers["content-type"].startswith(f"application/{fmt}+xml")
            etag, modified = r.headers["etag"], r.headers["last-modified"]
            assert httpx.get(f"{base}/feeds/news.{fmt}", headers={"If-None-Match": etag}).status_code == 304
            again = httpx.get(f"{base}/feeds/news.{fmt}", headers={"If-Modified-Since": modified})
            assert again.status_code == 304 and again.content == b""
        assert httpx.get(f"{base}/feeds/nope.rss").status_code == 404
        assert len(origin.requests_for("/spp.xml")) == 1  # beat polls the source once, not every tick


def test_lost_messages_are_found_again(deployment: Deployment, origin: Origin, redis_url: str) -> None:
    """Beat enqueues a poll, the broker loses it (a Redis restarted empty): the source's lease runs out
    and the poll is scheduled again; nothing is lost."""
    d = deployment
    port = setup(d, origin, redis_url)
    d.run("db", "upgrade")
    client = redis.Redis.from_url(redis_url)
    with processes(d.popen("beat")):
        assert wait_until(lambda: client.llen("poll") > 0, timeout=30), "beat enqueued nothing"
    client.flushdb()  # the messages are gone
    with processes(d.popen("worker", "-c", "1"), d.popen("beat"), d.popen("web")):
        assert wait_until(lambda: served_entries(port, "atom") == 2, timeout=60)
    assert len(origin.requests_for("/spp.xml")) == 1


@pytest.mark.parametrize("role", ["worker", "beat"])
def test_roles_without_a_broker_say_so(
    deployment: Deployment, origin: Origin, redis_url: str, role: str
) -> None:
    d = deployment
    setup(d, origin, redis_url)
    d.env.pop("SYNDICATION_BROKER_URL")
    d.run("db", "upgrade")
    out = d.run(role, check=False, timeout=60)
    assert out.returncode != 0 and "SYNDICATION_BROKER_URL" in out.stderr


def test_a_worker_killed_mid_poll_loses_nothing(
    deployment: Deployment, origin: Origin, redis_url: str
) -> None:
    """SIGKILL a worker while it is fetching (the origin is slow): the source's lease runs out, beat
    claims it again, a new worker polls it, and the feed gets its articles. Nothing is duplicated."""
    d = deployment
    port = setup(d, origin, redis_url)
    origin.slow("/spp.xml", delay=4)
    d.run("db", "upgrade")
    first = d.popen("worker", "-c", "1")
    with processes(d.popen("beat"), d.popen("web")):
        try:
            assert wait_until(lambda: len(origin.requests_for("/spp.xml")) >= 1, timeout=60)
        finally:
            # the whole worker process group: the main process and its pool child
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        origin.slow("/spp.xml", delay=0)
        with processes(d.popen("worker", "-c", "1")):
            assert wait_until(lambda: served_entries(port, "rss") == 2, timeout=90)
    assert len(origin.requests_for("/spp.xml")) >= 2  # polled again after the kill
