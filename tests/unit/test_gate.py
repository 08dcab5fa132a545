"""The gate every request goes through: robots.txt first (disallowed, or unreadable: nothing fetched),
then the host's token bucket, then the fetch; a 429 with Retry-After holds the host for every worker."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
import redis

from syndication import USER_AGENT
from syndication.errors import HTTPStatusError
from syndication.fetch.gate import Gate, RobotsDisallowed, redis_for_broker
from syndication.fetch.http import FetchLimits
from tests.servers import Origin


@pytest.fixture
def client() -> redis.Redis:
    r = redis.Redis(host="127.0.0.1", port=6379, db=8)
    try:
        r.flushdb()
    except redis.RedisError as e:
        pytest.fail(f"Redis on 127.0.0.1:6379 is required: {e}")
    return r


@pytest.fixture
def origin() -> Iterator[Origin]:
    with Origin() as o:
        yield o


def gate(client: redis.Redis) -> Gate:
    return Gate(client, user_agent=USER_AGENT, http=httpx.Client(), limits=FetchLimits(), wait_limit=5)


def test_robots_disallow_and_unreadable_robots_fetch_nothing(client: redis.Redis, origin: Origin) -> None:
    origin.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    origin.add("/private/a.xml", b"<rss/>")
    origin.add("/public/a.xml", b"<rss/>")
    g = gate(client)
    with pytest.raises(RobotsDisallowed, match="disallows"):
        g.fetch(origin.url("/private/a.xml"))
    assert g.fetch(origin.url("/public/a.xml")).status == 200
    assert [r.path for r in origin.requests] == ["/robots.txt", "/public/a.xml"]
    with Origin() as broken:
        broken.fail("/robots.txt", 500)
        broken.add("/a.xml", b"<rss/>")
        with pytest.raises(RobotsDisallowed, match="could not be read"):
            g.fetch(broken.url("/a.xml"))
        assert [r.path for r in broken.requests] == ["/robots.txt"]
        assert g.fetch(broken.url("/a.xml"), robots=False).status == 200  # a source's explicit opt-out


def test_a_429_with_retry_after_holds_the_host(client: redis.Redis, origin: Origin) -> None:
    origin.fail("/a.xml", 429, headers={"Retry-After": "30"})
    g = gate(client)
    with pytest.raises(HTTPStatusError):
        g.fetch(origin.url("/a.xml"), robots=False)
    remaining = g.backoff.remaining(origin.url("/a.xml"))
    assert 25 <= remaining <= 30


def test_redis_for_broker() -> None:
    sock = f"/tmp/{secrets.token_hex(4)}.sock"
    assert redis_for_broker(f"redis+socket://{sock}").connection_pool.connection_kwargs["path"] == sock
    assert redis_for_broker("redis://127.0.0.1:6379/3").connection_pool.connection_kwargs["db"] == 3
    with pytest.raises(ValueError, match="not Redis"):
        redis_for_broker("amqp://guest@127.0.0.1//")
