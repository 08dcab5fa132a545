"""fetch.politeness: the Redis token bucket (threads and processes), host holds, adaptive intervals.

Uses the real Redis on 127.0.0.1:6379, database 7 (flushed per test); no Redis is a failure, not a skip.
Grant times are read from Redis TIME, the clock the bucket itself uses.
"""

from __future__ import annotations

import multiprocessing
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import redis

from syndication.fetch.politeness import (
    HostBackoff,
    HostRateLimiter,
    RateLimitTimeout,
    bucket_key,
    hold_key,
    next_interval,
    normalize_host,
)

REDIS_DB = 7

pytestmark = pytest.mark.timeout(60)


def _connect() -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_timeout=5)


@pytest.fixture
def r() -> Iterator[redis.Redis]:
    client = _connect()
    try:
        client.flushdb()
    except redis.RedisError as e:  # CI starts Redis: its absence is a failure, not a skip
        pytest.fail(f"Redis on 127.0.0.1:6379 (db {REDIS_DB}) is required: {e}", pytrace=False)
    yield client
    client.close()


def unique_host() -> str:
    return f"shared-{secrets.token_hex(4)}.example"


def redis_now(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return seconds + micros / 1e6


def max_in_window(times: Sequence[float], window: float) -> int:
    """The most events in any closed interval [t, t + window]."""
    ts = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(ts):
        while j < len(ts) and ts[j] <= t + window:
            j += 1
        best = max(best, j - i)
    return best


def assert_within_rate(times: Sequence[float], rate: float, burst: int, slack: float) -> None:
    """No window of T seconds holds more than burst + rate * (T + slack) grants (slack: how late a
    grant's time may have been read)."""
    for window in (0.1, 0.25, 0.5, 1.0):
        allowed = burst + rate * (window + slack)
        got = max_in_window(times, window)
        assert got <= allowed + 1e-9, f"{got} grants within {window} s; at most {allowed:.2f} allowed"


def assert_keeps_up(times: Sequence[float], rate: float) -> None:
    """The limiter is not simply refusing: over the span of the grants, close to ``rate`` per second."""
    span = max(times) - min(times)
    assert span >= 0.4, f"grants only over {span:.2f} s"
    assert len(times) >= 0.8 * rate * span, f"{len(times)} grants in {span:.2f} s at {rate}/s"


# --- the window checker itself ----------------------------------------------------------------------


def test_window_checker_catches_a_burst() -> None:
    even = [i * 0.1 for i in range(20)]  # exactly 10/s
    assert_within_rate(even, rate=10, burst=1, slack=0.0)
    burst = [*even, 0.55, 0.56]  # two extra grants squeezed in
    with pytest.raises(AssertionError):
        assert_within_rate(burst, rate=10, burst=1, slack=0.0)
    assert max_in_window([0.0, 0.1, 0.2], 0.1) == 2
    assert max_in_window([], 1.0) == 0


# --- the bucket ---------------------------------------------------------------------------------------


def test_burst_then_one_token_per_interval(r: redis.Redis) -> None:
    limiter = HostRateLimiter(r)
    waits = [limiter.reserve("a.example", rate=10, burst=3).wait for _ in range(6)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    for got, expected in zip(waits[3:], (0.1, 0.2, 0.3), strict=True):
        assert expected - 0.02 <= got <= expected + 1e-6


def test_try_acquire_takes_nothing_when_it_must_wait(r: redis.Redis) -> None:
    limiter = HostRateLimiter(r)
    assert limiter.try_acquire("a.example", rate=2, burst=1) == 0.0
    first = limiter.try_acquire("a.example", rate=2, burst=1)
    second = limiter.try_acquire("a.example", rate=2, burst=1)
    assert 0.4 <= first <= 0.5 and 0.4 <= second <= first  # not 1.0: nothing was reserved
    # a sleeping caller still gets the slot right after the first grant
    assert 0.4 <= limiter.reserve("a.example", rate=2, burst=1).wait <= 0.5


def test_default_is_one_request_per_second(r: redis.Redis) -> None:
    limiter = HostRateLimiter(r)
    assert limiter.try_acquire("a.example") == 0.0
    assert 0.95 <= limiter.try_acquire("a.example") <= 1.0


def test_hosts_have_their_own_buckets(r: redis.Redis) -> None:
    limiter = HostRateLimiter(r)
    assert limiter.try_acquire("a.example") == 0.0
    assert limiter.try_acquire("b.example") == 0.0
    assert limiter.try_acquire("a.example") > 0.9
    # the host is what counts: case, a trailing dot, port and URL form are one host
    assert limiter.try_acquire("https://A.EXAMPLE:8443/x") > 0.9
    assert limiter.try_acquire("a.example.") > 0.9
    assert normalize_host("[::1]:8080") == "::1"
    assert bucket_key("WWW.spp.gov.cn") == "syndication:bucket:www.spp.gov.cn"
    assert r.exists("syndication:bucket:a.example") and r.exists("syndication:bucket:b.example")


@pytest.mark.parametrize(
    ("host", "source_rate", "source_burst", "expected"),
    [
        ("other.example", None, None, (1.0, 1)),  # default
        ("other.example", 4.0, 2, (4.0, 2)),  # the source's own setting
        ("www.spp.gov.cn", None, None, (0.5, 1)),  # the host's setting
        ("WWW.SPP.GOV.CN", None, None, (0.5, 1)),
        ("www.spp.gov.cn", 4.0, None, (0.5, 1)),  # a host setting is a ceiling for its sources
        ("www.spp.gov.cn", 0.2, None, (0.2, 1)),  # ... but a slower source stays slower
        ("burst.example", None, 5, (3.0, 4)),
    ],
)
def test_rate_precedence(
    r: redis.Redis,
    host: str,
    source_rate: float | None,
    source_burst: int | None,
    expected: tuple[float, int],
) -> None:
    limiter = HostRateLimiter(
        r,
        host_rates={"www.spp.gov.cn": 0.5, "burst.example": 3.0},
        host_bursts={"burst.example": 4},
    )
    assert limiter.limits_for(host, source_rate, source_burst) == expected


def test_per_host_rate_is_applied(r: redis.Redis) -> None:
    limiter = HostRateLimiter(r, host_rates={"www.spp.gov.cn": 0.5})
    assert limiter.try_acquire("www.spp.gov.cn") == 0.0
    assert 1.9 <= limiter.try_acquire("www.spp.gov.cn") <= 2.0
    assert limiter.try_acquire("www.court.gov.cn") == 0.0
    assert 0.9 <= limiter.try_acquire("www.court.gov.cn") <= 1.0
    assert limiter.try_acquire("fast.example", rate=5) == 0.0
    assert 0.15 <= limiter.try_acquire("fast.example", rate=5) <= 0.2


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (float("nan"), 1), (1, 0)])
def test_bad_rates_are_refused(r: redis.Redis, rate: float, burst: int) -> None:
    limiter = HostRateLimiter(r)
    with pytest.raises(ValueError):
        limiter.try_acquire("a.example", rate=rate, burst=burst)


def test_bucket_keys_expire_once_full_again(r: redis.Redis) -> None:
    limiter = HostRateLimiter(r)
    limiter.reserve("a.example", rate=0.5, burst=2)
    ttl = r.pttl(bucket_key("a.example"))
    assert 1000 < ttl <= 2 * 1000 + 1000  # one token to refill at 0.5/s, plus a second of margin
    limiter.reserve("b.example", rate=10, burst=1)
    assert 0 < r.pttl(bucket_key("b.example")) <= 1100


def test_acquire_sleeps_until_its_slot(r: redis.Redis) -> None:
    slept: list[float] = []
    fake = [1e9]  # a large clock: float rounding must not make acquire loop

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        fake[0] += seconds

    limiter = HostRateLimiter(r, sleep=sleep, clock=lambda: fake[0])
    assert limiter.acquire("a.example", rate=4, timeout=5) == 0.0
    assert slept == []
    waited = limiter.acquire("a.example", rate=4, timeout=5)
    assert 0.2 <= waited <= 0.25 and slept == [waited]
    # the next caller queues behind the reservation
    assert 0.45 <= limiter.acquire("a.example", rate=4, timeout=5) <= 0.5


def test_acquire_times_out_at_once_and_reserves_nothing(r: redis.Redis) -> None:
    slept: list[float] = []
    limiter = HostRateLimiter(r, sleep=slept.append)
    limiter.acquire("a.example", rate=0.5, timeout=0)
    with pytest.raises(RateLimitTimeout) as info:
        limiter.acquire("a.example", rate=0.5, timeout=1.0)
    assert slept == []
    assert 1.9 <= info.value.retry_after <= 2.0 and info.value.host == "a.example"
    assert "a.example" in str(info.value) and "within 1 s" in str(info.value)
    assert 1.9 <= limiter.reserve("a.example", rate=0.5).wait <= 2.0  # not 4: nothing was reserved


def test_acquire_really_waits(r: redis.Redis) -> None:
    limiter = HostRateLimiter(r)
    started = time.monotonic()
    for _ in range(3):
        limiter.acquire("a.example", rate=10, burst=1, timeout=1)
    assert 0.19 <= time.monotonic() - started < 0.6


# --- many workers, one host ----------------------------------------------------------------------------


def _hammer(
    host: str, rate: float, burst: int, start: float, duration: float, use_acquire: bool = True
) -> list[tuple[float, float]]:
    """Take tokens for ``host`` from ``start`` for ``duration`` seconds (Redis clock); returns
    (scheduled Redis time of the slot, Redis time read after sleeping until it) per grant."""
    client = _connect()
    limiter = HostRateLimiter(client)
    grants: list[tuple[float, float]] = []
    now = redis_now(client)
    if start > now:
        time.sleep(start - now)
    for _ in range(10_000):  # bounded
        if redis_now(client) >= start + duration:
            break
        if use_acquire:
            try:
                limiter.acquire(host, rate=rate, burst=burst, timeout=0.2)
            except RateLimitTimeout:
                continue
            grants.append((float("nan"), redis_now(client)))
        else:
            grant = limiter.reserve(host, rate=rate, burst=burst, max_wait=0.2)
            if not grant.granted:
                time.sleep(0.01)
                continue
            time.sleep(grant.wait)
            grants.append((grant.at, redis_now(client)))
    client.close()
    return grants


def _in_window(grants: list[tuple[float, float]], start: float, duration: float) -> list[float]:
    return [seen for _, seen in grants if seen < start + duration + 0.05]


def test_two_threads_never_exceed_the_rate(r: redis.Redis) -> None:
    rate, burst, duration = 20.0, 2, 1.0
    host = unique_host()  # apart from any other run of this suite on the same Redis
    start = redis_now(r) + 0.05
    results: list[list[tuple[float, float]]] = [[], []]

    def run(i: int) -> None:
        results[i] = _hammer(host, rate, burst, start, duration)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert all(results), "each thread got tokens"
    seen = [s for res in results for s in _in_window(res, start, duration)]
    assert_within_rate(seen, rate, burst, slack=0.05)
    assert_keeps_up(seen, rate)


def test_two_processes_never_exceed_the_rate(r: redis.Redis) -> None:
    rate, burst, duration = 20.0, 3, 1.0
    host = unique_host()
    start = redis_now(r) + 1.2  # time for spawned interpreters to start
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        futures = [pool.submit(_hammer, host, rate, burst, start, duration, False) for _ in range(2)]
        results = [f.result(timeout=15) for f in futures]
    assert all(results), "each process got tokens"
    grants = [g for res in results for g in res]
    # the slots the script handed out, on the Redis clock: exactly within the bucket's bound
    assert_within_rate([at for at, _ in grants], rate, burst, slack=0.001)
    # the moments the workers actually went (read from Redis after sleeping), with read-latency slack
    seen = [s for res in results for s in _in_window(res, start, duration)]
    assert_within_rate(seen, rate, burst, slack=0.05)
    assert_keeps_up(seen, rate)


def test_the_harness_fails_a_limiter_that_lets_too_much_through(r: redis.Redis) -> None:
    # the same hammering, with a bucket 10x too generous, must be caught by the same check
    start = redis_now(r) + 0.02
    grants = _hammer(unique_host(), 200.0, 2, start, 0.3, False)
    seen = [s for _, s in grants]
    with pytest.raises(AssertionError):
        assert_within_rate(seen, 20.0, 2, slack=0.05)


# --- holds ----------------------------------------------------------------------------------------------


def test_hold_is_seen_by_every_worker(r: redis.Redis) -> None:
    mine, theirs = HostBackoff(r), HostBackoff(_connect())
    assert theirs.held_until("a.example") is None and theirs.remaining("a.example") == 0.0
    before = redis_now(r)
    until = mine.hold("a.example", 30, "HTTP 429 Retry-After: 30")
    status = theirs.status("A.Example")
    assert status is not None
    assert status.until == pytest.approx(until) and before + 29.9 <= until <= redis_now(r) + 30
    assert status.reason == "HTTP 429 Retry-After: 30" and 29 < status.remaining <= 30
    assert theirs.held_until("a.example") == pytest.approx(until)
    assert theirs.held_until("b.example") is None
    assert 29_000 < r.pttl(hold_key("a.example")) <= 31_100  # the key goes away when the hold ends


def test_hold_is_extended_never_shortened(r: redis.Redis) -> None:
    backoff = HostBackoff(r)
    long_end = backoff.hold("a.example", 60, "503")
    assert backoff.hold("a.example", 5, "429") == pytest.approx(long_end)
    hold = backoff.status("a.example")
    assert hold is not None and hold.reason == "503"
    longer = backoff.hold("a.example", 120, "503 again")
    assert longer > long_end
    backoff.release("a.example")
    assert backoff.status("a.example") is None


def test_hold_is_capped_and_zero_is_no_hold(r: redis.Redis) -> None:
    backoff = HostBackoff(r, max_hold=100)
    assert backoff.hold("a.example", 0, "x") == 0.0 and backoff.status("a.example") is None
    backoff.hold("a.example", 10**9, "Retry-After in 30 years")
    assert 99 < backoff.remaining("a.example") <= 100
    backoff.hold("b.example", float("inf"), "?")
    assert 99 < backoff.remaining("b.example") <= 100


def test_held_host_gives_no_token(r: redis.Redis) -> None:
    limiter = HostRateLimiter(r)
    HostBackoff(r).hold("a.example", 30, "HTTP 503")
    wait = limiter.try_acquire("a.example")
    assert 29 < wait <= 30
    assert limiter.try_acquire("b.example") == 0.0
    with pytest.raises(RateLimitTimeout) as info:
        limiter.acquire("a.example", timeout=5)
    assert 29 < info.value.held <= 30 and "Retry-After" in str(info.value)
    # a limiter told to ignore holds goes on
    assert HostRateLimiter(r, respect_holds=False).try_acquire("a.example") == 0.0


def test_acquire_waits_out_a_short_hold(r: redis.Redis) -> None:
    limiter = HostRateLimiter(r)
    HostBackoff(r).hold("a.example", 0.3, "HTTP 429")
    started = time.monotonic()
    waited = limiter.acquire("a.example", timeout=2)
    assert 0.25 <= waited <= 0.3 and time.monotonic() - started >= 0.25
    assert 0.9 <= limiter.try_acquire("a.example") <= 1.0  # the bucket applies after the hold


# --- adaptive interval ------------------------------------------------------------------------------------

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def ago(*deltas: timedelta) -> list[datetime]:
    return [NOW - d for d in deltas]


@pytest.mark.parametrize(
    ("history", "current", "expected"),
    [
        pytest.param([], 15 * M, 15 * M, id="no history keeps current"),
        pytest.param(ago(0 * H), 15 * M, 15 * M, id="one time: no gap"),
        pytest.param(ago(0 * H, 1 * H), 15 * M, 15 * M, id="one gap is too little"),
        pytest.param(ago(0 * H, 1 * H, 2 * H, 3 * H), 15 * M, 30 * M, id="hourly -> half an hour"),
        pytest.param(ago(0 * H, 2 * H, 4 * H, 6 * H), 5 * M, 1 * H, id="every 2 h -> 1 h"),
        pytest.param(ago(0 * M, 1 * M, 2 * M, 3 * M), 15 * M, 5 * M, id="every minute -> floor"),
        pytest.param(ago(0 * H, 48 * H, 96 * H), 15 * M, 6 * H, id="every 2 days -> ceiling"),
        pytest.param(ago(0 * H, 1 * H, 2 * H, 10 * H, 11 * H), 15 * M, 30 * M, id="median ignores outlier"),
        pytest.param(
            ago(3 * H, 4 * H, 5 * H, 6 * H), 15 * M, 90 * M, id="silent for 3 h: the silence counts"
        ),
        pytest.param(ago(0 * H, 0 * H, 0 * H, 1 * H, 2 * H), 15 * M, 30 * M, id="equal times count once"),
        pytest.param(
            [NOW + 5 * H, NOW + 6 * H, *ago(0 * H, 2 * H, 4 * H)], 15 * M, 1 * H, id="future times ignored"
        ),
        pytest.param(list(reversed(ago(0 * H, 2 * H, 4 * H))), 15 * M, 1 * H, id="order does not matter"),
        pytest.param(
            ago(*(i * 10 * M for i in range(10)), *(100 * H + i * 10 * H for i in range(10))),
            15 * M,
            5 * M,
            id="only the recent window counts",
        ),
    ],
)
def test_next_interval(history: list[datetime], current: timedelta, expected: timedelta) -> None:
    got = next_interval(history, now=NOW, min_interval=5 * M, max_interval=6 * H, current=current)
    assert got == expected


def test_next_interval_refuses_bad_bounds() -> None:
    with pytest.raises(ValueError):
        next_interval([], now=NOW, min_interval=H, max_interval=M, current=H)
    with pytest.raises(ValueError):
        next_interval([], now=NOW, min_interval=timedelta(0), max_interval=M, current=H)
