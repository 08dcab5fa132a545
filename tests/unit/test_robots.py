"""fetch.robots: RFC 9309 matching (longest match, Allow wins ties, * and $), status rules, the Redis cache.

The cache tests use the real Redis on 127.0.0.1:6379, database 7 (flushed per test; no Redis is a
failure, not a skip) and a local Origin server for robots.txt.
"""

from __future__ import annotations

import secrets
import threading
import time
import urllib.robotparser
from collections.abc import Iterator

import pytest
import redis

from syndication.fetch.robots import (
    ROBOTS_PREFIX,
    RobotsCache,
    http_fetcher,
    normalize_path,
    origin_key,
    parse_robots,
    product_token,
)
from tests.servers import Origin

# the cache tests use a host of their own, apart from any other run of this suite on the same Redis
SITE = f"site-{secrets.token_hex(4)}.example"
UA = "syndication/0.1.0 (+https://github.com/syndication/syndication)"
REDIS_DB = 7

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def r() -> Iterator[redis.Redis]:
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_timeout=5)
    try:
        client.flushdb()
    except redis.RedisError as e:  # CI starts Redis: its absence is a failure, not a skip
        pytest.fail(f"Redis on 127.0.0.1:6379 (db {REDIS_DB}) is required: {e}", pytrace=False)
    yield client
    client.close()


@pytest.fixture
def origin() -> Iterator[Origin]:
    with Origin() as o:
        yield o


class CountingFetcher:
    def __init__(self, status: int = 200, body: bytes = b"") -> None:
        self.status, self.body = status, body
        self.calls: list[str] = []

    def __call__(self, url: str) -> tuple[int, bytes]:
        self.calls.append(url)
        return self.status, self.body


# --- matching -------------------------------------------------------------------------------------------

LONGEST = "User-agent: *\nDisallow: /a\nAllow: /a/b\n"
LONGEST_REVERSED = "User-agent: *\nAllow: /a/b\nDisallow: /a\n"
DISALLOW_WINS_LONGER = "User-agent: *\nAllow: /a\nDisallow: /a/b\n"
TIE = "User-agent: *\nDisallow: /page\nAllow: /page\n"
WILDCARDS = """
User-agent: *
Disallow: /*.pdf
Disallow: /search*q=
Disallow: /*.php$
Allow: /public/*.pdf
Disallow: /fish$
"""
ROOT_ONLY = "User-agent: *\nDisallow: /\nAllow: /$\n"
GROUPS = """
# a comment
Disallow: /before-any-agent

User-agent: otherbot
Disallow: /

User-agent: Syndication
User-agent: somebot
Disallow: /private   # trailing comment
Crawl-delay: 2.5

User-agent: *
Disallow: /everyone

Sitemap: https://example.org/sitemap.xml

user-agent: SYNDICATION/2.0
disallow: /also-private
"""


@pytest.mark.parametrize(
    ("robots", "path", "expected"),
    [
        # longest match wins, whatever the order of the lines
        (LONGEST, "/a/b/c", True),
        (LONGEST, "/a/x", False),
        (LONGEST_REVERSED, "/a/b/c", True),
        (LONGEST_REVERSED, "/a/x", False),
        (DISALLOW_WINS_LONGER, "/a/b/c", False),
        (DISALLOW_WINS_LONGER, "/a/c", True),
        # equal length: Allow wins
        (TIE, "/page", True),
        (TIE, "/page2", True),
        # wildcards and end anchors
        (WILDCARDS, "/docs/x.pdf", False),
        (WILDCARDS, "/docs/x.pdf?download=1", False),
        (WILDCARDS, "/public/x.pdf", True),
        (WILDCARDS, "/search?q=1", False),
        (WILDCARDS, "/search?lang=zh&q=1", False),
        (WILDCARDS, "/search?lang=zh", True),
        (WILDCARDS, "/index.php", False),
        (WILDCARDS, "/index.php?x=1", True),
        (WILDCARDS, "/index.phpx", True),
        (WILDCARDS, "/fish", False),
        (WILDCARDS, "/fish.html", True),
        (ROOT_ONLY, "/", True),
        (ROOT_ONLY, "/a", False),
        # groups: ours (merged across the file, version ignored, any case) beats *; rules before any
        # user-agent line and Sitemap lines belong to no group
        (GROUPS, "/private/x", False),
        (GROUPS, "/also-private", False),
        (GROUPS, "/everyone", True),
        (GROUPS, "/before-any-agent", True),
        # /robots.txt itself is always allowed; an empty Disallow allows everything
        ("User-agent: *\nDisallow: /\n", "/robots.txt", True),
        ("User-agent: *\nDisallow:\n", "/anything", True),
        ("", "/anything", True),
        # percent-encoding: %-escapes of unreserved characters and UTF-8 are compared decoded/encoded
        ("User-agent: *\nDisallow: /%E6%96%B0%E9%97%BB\n", "/新闻/1.html", False),
        ("User-agent: *\nDisallow: /新闻\n", "/%e6%96%b0%e9%97%bb/1.html", False),
        ("User-agent: *\nDisallow: /%7Ejoe\n", "/~joe/x", False),
        ("User-agent: *\nDisallow: /a%2Fb\n", "/a/b", True),  # %2F is reserved: not a '/'
        # paths are case-sensitive
        ("User-agent: *\nDisallow: /Admin\n", "/admin", True),
    ],
)
def test_allowed(robots: str, path: str, expected: bool) -> None:
    assert parse_robots(robots).allowed("https://example.org" + path, UA) is expected


def test_star_group_applies_only_when_no_group_names_us() -> None:
    rules = parse_robots(GROUPS)
    assert rules.allowed("/everyone", "somebot") is True
    assert rules.allowed("/everyone", "anybot/1.0") is False
    assert rules.allowed("/private", "anybot") is True
    # a group for "syndication-bot" is not ours: product tokens are compared whole, not as substrings
    other = parse_robots("User-agent: syndication-bot\nDisallow: /\n")
    assert other.allowed("/x", UA) is True
    assert product_token(UA) == "syndication"


def test_crawl_delay_and_sitemaps() -> None:
    rules = parse_robots(GROUPS)
    assert rules.crawl_delay(UA) == 2.5
    assert rules.crawl_delay("anybot") is None
    assert rules.sitemaps == ["https://example.org/sitemap.xml"]
    assert parse_robots("User-agent: *\nCrawl-delay: soon\n").crawl_delay(UA) is None
    assert parse_robots("User-agent: *\nCrawl-delay: 10\n").crawl_delay(UA) == 10.0


def test_parser_tolerates_junk_and_bytes() -> None:
    body = b"\xef\xbb\xbfUser-Agent: *\r\nDISALLOW: /x\rnot a rule\n<html>\xff\xfe</html>\nDisallow /y\n"
    rules = parse_robots(body)
    assert rules.allowed("/x", UA) is False
    assert rules.allowed("/y", UA) is True  # no colon: not a rule


def test_pathological_pattern_is_fast() -> None:
    rules = parse_robots("User-agent: *\nDisallow: /" + "*a" * 200 + "b\n")
    started = time.perf_counter()
    assert rules.allowed("/" + "a" * 5000, UA) is True
    assert time.perf_counter() - started < 1.0


def test_robotparser_would_get_these_wrong() -> None:
    """Why urllib.robotparser is not used: first match in file order, no wildcards."""

    def stdlib(robots: str, path: str) -> bool:
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(robots.splitlines())
        return parser.can_fetch(UA, "https://example.org" + path)

    assert stdlib(LONGEST, "/a/b/c") is False  # RFC 9309: allowed (the longer Allow wins)
    assert parse_robots(LONGEST).allowed("/a/b/c", UA) is True
    assert stdlib(WILDCARDS, "/docs/x.pdf") is True  # RFC 9309: disallowed by /*.pdf
    assert parse_robots(WILDCARDS).allowed("/docs/x.pdf", UA) is False


def test_normalize_path_and_origin_key() -> None:
    assert normalize_path("/%7e%41/%2f/中") == "/~A/%2F/%E4%B8%AD"
    assert origin_key("HTTPS://WWW.Example.org/a?b") == "https://www.example.org:443"
    assert origin_key("http://example.org:8080/") == "http://example.org:8080"
    assert origin_key("http://example.org/") == "http://example.org:80"
    with pytest.raises(ValueError):
        origin_key("ftp://example.org/")


# --- the cache: status rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected", "long_ttl"),
    [
        (200, False, True),  # body: Disallow: /
        (404, True, True),
        (403, True, True),
        (401, True, True),
        (410, True, True),
        (429, False, False),
        (500, False, False),
        (503, False, False),
    ],
)
def test_status_rules(r: redis.Redis, status: int, expected: bool, long_ttl: bool) -> None:
    cache = RobotsCache(r, ttl=3600, error_ttl=60)
    fetcher = CountingFetcher(status, b"User-agent: *\nDisallow: /\n" if status == 200 else b"")
    assert cache.allowed(f"https://{SITE}/page", user_agent=UA, fetcher=fetcher) is expected
    assert cache.allowed(f"https://{SITE}/other", user_agent=UA, fetcher=fetcher) is expected
    assert fetcher.calls == [f"https://{SITE}:443/robots.txt"]  # negative answers are cached too
    ttl = r.pttl(ROBOTS_PREFIX + f"https://{SITE}:443")
    assert (3_500_000 < ttl <= 3_600_000) if long_ttl else (0 < ttl <= 60_000)


def test_unreachable_disallows_for_a_short_while(r: redis.Redis) -> None:
    calls: list[str] = []

    def broken(url: str) -> tuple[int, bytes]:
        calls.append(url)
        raise ConnectionError("connection refused")

    cache = RobotsCache(r, error_ttl=0.2)
    assert cache.allowed(f"http://down.{SITE}/a", user_agent=UA, fetcher=broken) is False
    assert cache.allowed(f"http://down.{SITE}/b", user_agent=UA, fetcher=broken) is False
    assert len(calls) == 1
    assert r.hget(ROBOTS_PREFIX + f"http://down.{SITE}:80", "error") == b"ConnectionError: connection refused"
    time.sleep(0.3)  # retried once the short TTL ran out
    assert cache.allowed(f"http://down.{SITE}/a", user_agent=UA, fetcher=CountingFetcher(404)) is True


def test_cached_across_workers_and_parsed_once(r: redis.Redis) -> None:
    fetcher = CountingFetcher(200, b"User-agent: *\nDisallow: /private\nCrawl-delay: 3\n")
    worker1, worker2 = RobotsCache(r), RobotsCache(r)
    assert worker1.allowed(f"https://{SITE}/private/1", user_agent=UA, fetcher=fetcher) is False
    assert worker2.allowed(f"https://{SITE}/public/1", user_agent=UA, fetcher=fetcher) is True
    assert worker2.allowed(f"https://{SITE}/private/2", user_agent=UA, fetcher=fetcher) is False
    assert worker2.crawl_delay(f"https://{SITE}/", UA) == 3.0
    assert len(fetcher.calls) == 1
    # another scheme or port is another origin with its own robots.txt
    assert worker1.allowed(f"http://{SITE}/private/1", user_agent=UA, fetcher=fetcher) is False
    assert worker1.allowed(f"https://{SITE}:8443/private/1", user_agent=UA, fetcher=fetcher) is False
    assert fetcher.calls[1:] == [f"http://{SITE}:80/robots.txt", f"https://{SITE}:8443/robots.txt"]


def test_crawl_delay_without_fetcher_reads_only_the_cache(r: redis.Redis) -> None:
    cache = RobotsCache(r)
    assert cache.crawl_delay(f"https://{SITE}/", UA) is None
    fetcher = CountingFetcher(200, b"User-agent: syndication\nCrawl-delay: 1.5\n")
    assert cache.crawl_delay(f"https://{SITE}/", UA, fetcher=fetcher) == 1.5
    assert cache.crawl_delay(f"https://{SITE}/x", UA) == 1.5
    assert cache.crawl_delay(f"https://{SITE}/x", "otherbot") is None


def test_ttl_expiry_and_forget_fetch_again(r: redis.Redis) -> None:
    fetcher = CountingFetcher(200, b"User-agent: *\nDisallow: /x\n")
    cache = RobotsCache(r, ttl=0.2)
    cache.allowed(f"https://{SITE}/x", user_agent=UA, fetcher=fetcher)
    time.sleep(0.3)
    fetcher.body = b"User-agent: *\nDisallow: /y\n"
    assert cache.allowed(f"https://{SITE}/x", user_agent=UA, fetcher=fetcher) is True
    assert cache.allowed(f"https://{SITE}/y", user_agent=UA, fetcher=fetcher) is False
    cache.forget(f"https://{SITE}/")
    cache.allowed(f"https://{SITE}/y", user_agent=UA, fetcher=fetcher)
    assert len(fetcher.calls) == 3


def test_body_is_capped_at_500_kib(r: redis.Redis) -> None:
    filler = b"# " + b"x" * 1000 + b"\n"
    body = b"User-agent: *\nDisallow: /early\n" + filler * 600 + b"Disallow: /late\n"
    assert len(body) > 500 * 1024
    cache = RobotsCache(r)
    fetcher = CountingFetcher(200, body)
    assert cache.allowed(f"https://{SITE}/early", user_agent=UA, fetcher=fetcher) is False
    assert cache.allowed(f"https://{SITE}/late", user_agent=UA, fetcher=fetcher) is True
    assert len(r.hget(ROBOTS_PREFIX + f"https://{SITE}:443", "body") or b"") <= 500 * 1024


# --- the cache with a real server ---------------------------------------------------------------------


def test_with_origin_server(r: redis.Redis, origin: Origin) -> None:
    origin.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    fetcher = http_fetcher()
    cache = RobotsCache(r)
    assert cache.allowed(origin.url("/private/a.html"), user_agent=UA, fetcher=fetcher) is False
    assert cache.allowed(origin.url("/news/a.html"), user_agent=UA, fetcher=fetcher) is True
    assert RobotsCache(r).allowed(origin.url("/private/b.html"), user_agent=UA, fetcher=fetcher) is False
    requests = origin.requests_for("/robots.txt")
    assert len(requests) == 1
    assert "syndication" in (requests[0].header("user-agent") or "")


@pytest.mark.parametrize(("status", "expected"), [(404, True), (500, False), (503, False), (429, False)])
def test_origin_status(r: redis.Redis, origin: Origin, status: int, expected: bool) -> None:
    origin.fail("/robots.txt", status, headers={"Retry-After": "5"})
    cache = RobotsCache(r)
    fetcher = http_fetcher()
    assert cache.allowed(origin.url("/a"), user_agent=UA, fetcher=fetcher) is expected
    assert cache.allowed(origin.url("/b"), user_agent=UA, fetcher=fetcher) is expected
    assert len(origin.requests_for("/robots.txt")) == 1


def test_origin_redirect_is_followed(r: redis.Redis, origin: Origin) -> None:
    origin.redirect("/robots.txt", origin.url("/real-robots.txt"))
    origin.add("/real-robots.txt", b"User-agent: *\nDisallow: /\n", content_type="text/plain")
    cache = RobotsCache(r)
    assert cache.allowed(origin.url("/a"), user_agent=UA, fetcher=http_fetcher()) is False


def test_origin_unreachable_disallows(r: redis.Redis) -> None:
    with Origin() as gone:
        url = gone.url("/a")
    assert RobotsCache(r).allowed(url, user_agent=UA, fetcher=http_fetcher()) is False


def test_two_workers_fetch_robots_once(r: redis.Redis, origin: Origin) -> None:
    origin.add("/robots.txt", b"User-agent: *\nDisallow: /x\n", content_type="text/plain")
    origin.slow("/robots.txt", delay=0.3)
    fetcher = http_fetcher()
    answers: list[bool] = []

    def worker(path: str) -> None:
        answers.append(RobotsCache(r).allowed(origin.url(path), user_agent=UA, fetcher=fetcher))

    threads = [threading.Thread(target=worker, args=(p,)) for p in ("/x", "/y", "/x/1")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(answers) == [False, False, True]
    assert len(origin.requests_for("/robots.txt")) == 1
