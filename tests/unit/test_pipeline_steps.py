"""pipeline.poll / ingest / render / deliver without Celery, against a local Origin and WebhookReceiver,
on SQLite and PostgreSQL. Time is moved with the steps' ``now=`` clock argument."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from syndication import pipeline
from syndication.models import ChannelConfig, Config, SourceConfig, WebhookConfig
from syndication.runtime import Runtime
from syndication.storage import repo
from syndication.storage.db import transaction
from syndication.storage.tables import ArticleRow, ChannelFeedRow, DeliveryRow, PollRow, SourceRow
from tests.conftest import build_config
from tests.servers import Origin, WebhookReceiver, make_rss

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=10)
MakeRuntime = Callable[..., Runtime]


def body(n: int) -> str:
    return f"<p>第{n}号公告：" + "关于做好二〇二四年春季农业生产工作的通知。" * 3 + "</p>"


def entry(n: int) -> dict[str, str]:
    return {
        "guid": f"https://www.gov.cn/zhengce/t{n}.shtml",
        "link": f"https://www.gov.cn/zhengce/t{n}.shtml",
        "title": f"公告 {n}",
        "content": body(n),
        "pubDate": f"Fri, 01 Mar 2024 0{n % 10}:00:00 +0800",
    }


def feed(*ns: int) -> bytes:
    return make_rss([entry(n) for n in ns], title="政府网")


class Clock:
    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += timedelta(**kw)


@pytest.fixture
def origin() -> Iterator[Origin]:
    with Origin() as o:
        yield o


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=SECRET) as r:
        yield r


def source(origin: Origin, sid: str, path: str | None = None) -> SourceConfig:
    return SourceConfig(
        id=sid, name=f"源 {sid}", kind="feed", url=origin.url(path or f"/{sid}.xml"), interval=INTERVAL
    )


def source_row(rt: Runtime, sid: str) -> SourceRow:
    with transaction(rt.sessions, write=False) as s:
        return s.get_one(SourceRow, sid)


def polls(rt: Runtime, sid: str) -> list[PollRow]:
    with transaction(rt.sessions, write=False) as s:
        return list(s.scalars(select(PollRow).where(PollRow.source_id == sid).order_by(PollRow.id)))


def poll_and_ingest(rt: Runtime, sid: str, clock: Clock) -> pipeline.IngestOutcome | None:
    poll_id = pipeline.poll(rt, sid, now=clock)
    return None if poll_id is None else pipeline.ingest(rt, poll_id, now=clock)


# ---------------------------------------------------------------- poll


def test_poll_records_status_timing_and_http_status(make_runtime: MakeRuntime, origin: Origin) -> None:
    origin.add("/a.xml", feed(1, 2))
    rt = make_runtime(build_config([source(origin, "a")]))
    clock = Clock()
    poll_id = pipeline.poll(rt, "a", now=clock)
    assert poll_id is not None
    [p] = polls(rt, "a")
    assert p.id == poll_id
    assert (p.status, p.http_status, p.error, p.item_count) == ("ok", 200, None, 2)
    assert p.started_at == p.finished_at == T0
    assert p.duration_ms is not None and p.duration_ms > 0
    assert p.ingested_at is None and p.raw_items is not None and len(p.raw_items) == 2
    row = source_row(rt, "a")
    assert (row.last_status, row.last_http_status, row.consecutive_failures) == ("ok", 200, 0)
    assert row.last_polled_at == row.last_success_at == T0
    assert row.last_duration_ms == p.duration_ms
    assert row.etag == '"' + hashlib.sha1(feed(1, 2)).hexdigest() + '"'  # the Origin's validator
    assert row.last_modified == "Wed, 01 Nov 2023 00:00:00 GMT"
    assert T0 + INTERVAL * 0.9 <= row.next_poll_at <= T0 + INTERVAL * 1.1
    assert row.lease_until is None
    out = pipeline.ingest(rt, poll_id, now=clock)
    assert out is not None and out.new == 2
    [p] = polls(rt, "a")
    assert p.ingested_at == T0 and p.new_articles == 2 and p.raw_items is None


def test_second_poll_is_conditional_and_records_not_modified(
    make_runtime: MakeRuntime, origin: Origin
) -> None:
    origin.add("/a.xml", feed(1))
    rt = make_runtime(build_config([source(origin, "a")]))
    clock = Clock()
    assert pipeline.poll(rt, "a", now=clock) is not None
    etag = source_row(rt, "a").etag
    clock.advance(minutes=10)
    assert pipeline.poll(rt, "a", now=clock) is None
    first, second = origin.requests_for("/a.xml")
    assert first.header("if-none-match") is None
    assert second.header("if-none-match") == etag
    assert second.header("if-modified-since") == "Wed, 01 Nov 2023 00:00:00 GMT"
    assert second.status == 304
    p1, p2 = polls(rt, "a")
    assert (p1.status, p1.http_status) == ("ok", 200)
    assert (p2.status, p2.http_status, p2.item_count, p2.error) == ("not_modified", 304, 0, None)
    assert p2.ingested_at is not None  # nothing to ingest: not left as pending work
    row = source_row(rt, "a")
    assert (row.last_status, row.last_http_status, row.consecutive_failures) == ("not_modified", 304, 0)
    assert row.etag == etag  # validators kept for the next poll
    assert row.last_success_at == clock.at
    assert row.next_poll_at > clock.at
    # the content changes: a full 200 again, new validators stored
    origin.add("/a.xml", feed(1, 2))
    clock.advance(minutes=10)
    assert pipeline.poll(rt, "a", now=clock) is not None
    assert origin.requests_for("/a.xml")[-1].status == 200
    assert source_row(rt, "a").etag not in (None, etag)


FAILURES = ["http-404", "http-500", "invalid-xml", "html-page", "timeout", "too-large"]


def _break(origin: Origin, kind: str, path: str) -> str:
    """Make ``path`` fail in the way ``kind`` says; returns a fragment the recorded error must contain."""
    if kind == "http-404":
        origin.remove(path)
        return "404"
    if kind == "http-500":
        origin.fail(path, 500, body=b"oops")
        return "500"
    if kind == "invalid-xml":
        origin.add(path, b'<rss version="2.0"><channel><title>broken &amp <item')
        return "not a feed"
    if kind == "html-page":
        page = (
            b"<!doctype html><html><head><title>\xe9\xa6\x96\xe9\xa1\xb5</title></head><body>hi</body></html>"
        )
        origin.add(path, page, content_type="text/html; charset=utf-8")
        return "HTML page"
    if kind == "timeout":
        origin.slow(path, delay=3)
        return "time"
    if kind == "too-large":
        origin.huge(path, size=200_000)
        return "cap"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", FAILURES)
def test_failing_source_backs_off_while_another_still_ingests(
    make_runtime: MakeRuntime, origin: Origin, kind: str
) -> None:
    origin.add("/good.xml", feed(1))
    origin.add("/bad.xml", feed(2))
    cfg = build_config(
        [source(origin, "good"), source(origin, "bad")],
        [ChannelConfig(id="all", title="All", sources=("*",))],
    )
    rt = make_runtime(cfg, fetch_timeout=0.5, fetch_total_timeout=1, fetch_max_bytes=50_000)
    rt.rng = random.Random(7)
    fragment = _break(origin, kind, "/bad.xml")
    clock = Clock()
    delays = []
    for attempt in (1, 2):
        assert pipeline.poll(rt, "bad", now=clock) is None
        row = source_row(rt, "bad")
        assert row.consecutive_failures == attempt
        assert row.last_status == "error"
        assert row.last_error is not None and fragment in row.last_error, row.last_error
        assert row.next_poll_at > clock.at
        delays.append(row.next_poll_at - clock.at)
        p = polls(rt, "bad")[-1]
        assert p.status == "error" and p.error == row.last_error and p.ingested_at is not None
        if kind.startswith("http-"):
            assert p.http_status == row.last_http_status == int(fragment)
        clock.at = row.next_poll_at
    assert delays[0] < delays[1]  # back-off grows: [I/2, I) then [I, 2I)
    assert INTERVAL / 2 <= delays[0] <= INTERVAL
    # the healthy source in the same run is unaffected
    out = poll_and_ingest(rt, "good", clock)
    assert out is not None and out.new == 1
    assert source_row(rt, "good").consecutive_failures == 0


def test_backoff_keeps_growing_and_recovery_resets(make_runtime: MakeRuntime, origin: Origin) -> None:
    origin.add("/a.xml", feed(1))
    origin.fail("/a.xml", 503)
    rt = make_runtime(
        build_config([source(origin, "a")], [ChannelConfig(id="all", title="All", sources=("*",))])
    )
    rt.rng = random.Random(1)
    clock = Clock()
    delays = []
    for _ in range(4):
        pipeline.poll(rt, "a", now=clock)
        row = source_row(rt, "a")
        delays.append(row.next_poll_at - clock.at)
        clock.at = row.next_poll_at
    assert row.consecutive_failures == 4
    assert delays == sorted(delays) and len(set(delays)) == 4
    assert delays[-1] >= INTERVAL * 4  # 4th failure: [4I, 8I)
    origin.unfail("/a.xml")
    out = poll_and_ingest(rt, "a", clock)
    assert out is not None and out.new == 1
    row = source_row(rt, "a")
    assert (row.consecutive_failures, row.last_error, row.last_status) == (0, None, "ok")
    assert row.last_success_at == clock.at
    assert clock.at + INTERVAL * 0.9 <= row.next_poll_at <= clock.at + INTERVAL * 1.1


# ---------------------------------------------------------------- render


def _feed_row(rt: Runtime, channel_id: str = "all") -> ChannelFeedRow:
    with transaction(rt.sessions, write=False) as s:
        return s.get_one(ChannelFeedRow, channel_id)


def test_render_stores_feeds_and_etags_and_changes_only_with_content(
    make_runtime: MakeRuntime, origin: Origin
) -> None:
    origin.add("/a.xml", feed(1))
    cfg = build_config([source(origin, "a")], [ChannelConfig(id="all", title="全部", sources=("*",))])
    rt = make_runtime(cfg)
    clock = Clock()
    assert poll_and_ingest(rt, "a", clock) is not None
    assert pipeline.render(rt, "all", now=clock) is True
    first = _feed_row(rt)
    assert first.rss and first.atom and first.json
    assert b"<rss" in first.rss and "公告 1".encode() in first.rss
    assert b"http://www.w3.org/2005/Atom" in first.atom and "公告 1".encode() in first.atom
    assert b"https://jsonfeed.org/version/1.1" in first.json and "公告 1".encode() in first.json
    assert first.rss_etag and first.atom_etag and first.rss_etag != first.atom_etag
    assert first.json_etag and first.json_etag not in (first.rss_etag, first.atom_etag)
    assert first.rss_etag.startswith('"') and first.rss_etag.endswith('"')
    assert (first.item_count, first.content_changed_at, first.dirty_since) == (1, T0, None)

    # nothing changed: a later re-render (even when marked dirty) keeps bytes, ETags and Last-Modified
    clock.advance(minutes=30)
    with transaction(rt.sessions) as s:
        repo.mark_channels_dirty(s, ["all"], clock.at)
    assert pipeline.render(rt, "all", now=clock) is False
    same = _feed_row(rt)
    assert (same.rss, same.atom, same.json, same.rss_etag, same.atom_etag, same.json_etag) == (
        first.rss,
        first.atom,
        first.json,
        first.rss_etag,
        first.atom_etag,
        first.json_etag,
    )
    assert same.content_changed_at == T0 and same.dirty_since is None

    # a re-poll with no change (304) does not change them either
    assert poll_and_ingest(rt, "a", clock) is None
    assert pipeline.render(rt, "all", now=clock) is False
    assert _feed_row(rt).rss_etag == first.rss_etag

    # a new article changes bytes and ETags
    origin.add("/a.xml", feed(1, 2))
    clock.advance(minutes=30)
    out = poll_and_ingest(rt, "a", clock)
    assert out is not None and out.new == 1 and out.channels == ["all"]
    assert _feed_row(rt).dirty_since == clock.at
    assert pipeline.render(rt, "all", now=clock) is True
    new = _feed_row(rt)
    assert new.rss != first.rss and new.atom != first.atom and new.json != first.json
    assert new.rss_etag != first.rss_etag and new.atom_etag != first.atom_etag
    assert new.json_etag != first.json_etag
    assert "公告 2".encode() in new.rss and "公告 2".encode() in new.atom and "公告 2".encode() in new.json
    assert new.item_count == 2 and new.content_changed_at == clock.at


# ---------------------------------------------------------------- deliver


def _hook_runtime(make_runtime: MakeRuntime, origin: Origin, url: str, **settings: object) -> Runtime:
    cfg = build_config(
        [source(origin, "a")],
        [ChannelConfig(id="all", title="All", sources=("*",))],
        [WebhookConfig(id="hook", url=url, channels=("all",), secret=SECRET)],
    )
    return make_runtime(cfg, **settings)


def _delivery(rt: Runtime, delivery_id: int) -> DeliveryRow:
    with transaction(rt.sessions, write=False) as s:
        return s.get_one(DeliveryRow, delivery_id)


def _one_delivery(rt: Runtime, origin: Origin, clock: Clock) -> int:
    origin.add("/a.xml", feed(1))
    out = poll_and_ingest(rt, "a", clock)
    assert out is not None and len(out.deliveries) == 1
    return out.deliveries[0]


def test_deliver_success_is_signed_and_marked_sent(
    make_runtime: MakeRuntime, origin: Origin, receiver: WebhookReceiver
) -> None:
    rt = _hook_runtime(make_runtime, origin, receiver.url)
    clock = Clock()
    did = _one_delivery(rt, origin, clock)
    assert pipeline.deliver(rt, did, now=clock).status == "sent"
    [attempt] = receiver.attempts
    d = _delivery(rt, did)
    assert attempt.signature_valid
    assert attempt.webhook_id == d.msg_id
    assert attempt.json["type"] == "article.published"
    assert attempt.json["data"]["title"] == "公告 1"
    assert attempt.json["data"]["url"] == "https://www.gov.cn/zhengce/t1.shtml"
    assert attempt.json["data"]["provenance"]["source_id"] == "a"
    assert attempt.body == d.payload
    assert (d.status, d.attempts, d.last_status_code, d.last_error) == ("sent", 1, 200, None)
    assert d.delivered_at == T0 and d.next_attempt_at is None and d.lease_until is None
    # delivering a sent delivery again does nothing
    assert pipeline.deliver(rt, did, now=clock).status == "sent"
    assert len(receiver.attempts) == 1


def test_deliver_retries_with_same_msg_id_and_body_then_dead_letters(
    make_runtime: MakeRuntime, origin: Origin, receiver: WebhookReceiver
) -> None:
    receiver.set_fail_first(100, status=500)
    rt = _hook_runtime(make_runtime, origin, receiver.url, webhook_max_attempts=3, webhook_retry_base=60)
    clock = Clock()
    did = _one_delivery(rt, origin, clock)
    msg_id = _delivery(rt, did).msg_id

    out = pipeline.deliver(rt, did, now=clock)
    assert out.status == "pending" and out.retry_in is not None and out.retry_in > 0
    d = _delivery(rt, did)
    assert (d.status, d.attempts, d.last_status_code) == ("pending", 1, 500)
    assert d.last_error and "500" in d.last_error
    assert d.next_attempt_at is not None and d.next_attempt_at > clock.at
    assert d.next_attempt_at == clock.at + timedelta(seconds=out.retry_in)
    assert d.lease_until is None
    frozen = d.payload
    assert frozen

    # not due yet: nothing is sent, and the task is told when to come back
    early = pipeline.deliver(rt, did, now=clock)
    assert early.status == "pending" and early.retry_in == pytest.approx(out.retry_in)
    assert len(receiver.attempts) == 1

    # the article changes before the retry: the payload stays frozen
    with transaction(rt.sessions) as s:
        s.get_one(ArticleRow, d.article_id).title = "changed meanwhile"

    clock.at = d.next_attempt_at
    assert pipeline.deliver(rt, did, now=clock).status == "pending"
    d2 = _delivery(rt, did)
    assert d2.attempts == 2 and d2.next_attempt_at is not None and d2.next_attempt_at > clock.at

    clock.at = d2.next_attempt_at
    assert pipeline.deliver(rt, did, now=clock).status == "dead"
    dead = _delivery(rt, did)
    assert (dead.status, dead.attempts, dead.last_status_code) == ("dead", 3, 500)
    assert dead.last_error and "500" in dead.last_error
    assert dead.next_attempt_at is None and dead.delivered_at is None
    assert dead.payload == frozen and dead.msg_id == msg_id

    attempts = receiver.attempts
    assert [a.webhook_id for a in attempts] == [msg_id] * 3
    assert [a.attempt_number for a in attempts] == [1, 2, 3]
    assert all(a.body == frozen for a in attempts)
    assert all(a.signature_valid for a in attempts)
    assert json.loads(frozen)["data"]["title"] == "公告 1"

    # a dead delivery is not retried
    clock.advance(days=1)
    assert pipeline.deliver(rt, did, now=clock).status == "dead"
    assert len(receiver.attempts) == 3


def test_deliver_recovers_after_a_failure(
    make_runtime: MakeRuntime, origin: Origin, receiver: WebhookReceiver
) -> None:
    receiver.set_fail_first(1, status=500)
    rt = _hook_runtime(make_runtime, origin, receiver.url)
    clock = Clock()
    did = _one_delivery(rt, origin, clock)
    assert pipeline.deliver(rt, did, now=clock).status == "pending"
    clock.at = _delivery(rt, did).next_attempt_at or clock.at
    assert pipeline.deliver(rt, did, now=clock).status == "sent"
    d = _delivery(rt, did)
    assert (d.status, d.attempts, d.last_status_code, d.last_error) == ("sent", 2, 200, None)
    first, second = receiver.attempts
    assert first.webhook_id == second.webhook_id == d.msg_id
    assert first.body == second.body == d.payload
    assert receiver.delivered_ids() == [d.msg_id]


def test_delivery_to_a_removed_webhook_is_dead_with_a_reason(
    make_runtime: MakeRuntime, origin: Origin, receiver: WebhookReceiver
) -> None:
    rt = _hook_runtime(make_runtime, origin, receiver.url)
    clock = Clock()
    did = _one_delivery(rt, origin, clock)
    without: Config = build_config(rt.config.sources, rt.config.channels, ())
    rt2 = make_runtime(without, sync=False)
    assert pipeline.deliver(rt2, did, now=clock).status == "dead"
    d = _delivery(rt2, did)
    assert d.status == "dead"
    assert d.last_error and "no longer in the config" in d.last_error
    assert receiver.attempts == []


def test_new_sighting_elsewhere_updates_the_feed_provenance(
    make_runtime: MakeRuntime, origin: Origin
) -> None:
    """Regression: a sighting at a lower-priority source leaves the original as it is but changes
    the provenance (also_at) the feeds publish, so the channel must be re-rendered."""
    origin.add("/a.xml", feed(1))
    origin.add("/b.xml", make_rss([{**entry(1), "guid": "b-1", "title": "转载：公告 1"}]))
    cfg = build_config(
        [source(origin, "a"), source(origin, "b")],
        [ChannelConfig(id="all", title="All", sources=("*",))],
    )
    rt = make_runtime(cfg)
    clock = Clock()
    assert poll_and_ingest(rt, "a", clock) is not None
    assert pipeline.render(rt, "all", now=clock)
    assert b'source_id="b"' not in _feed_row(rt).rss
    clock.advance(minutes=5)
    out = poll_and_ingest(rt, "b", clock)
    assert out is not None and (out.new, out.duplicates) == (0, 1)
    assert _feed_row(rt).dirty_since == clock.at
    assert pipeline.render(rt, "all", now=clock) is True
    assert b'source_id="b"' in _feed_row(rt).rss


def test_deliver_honours_retry_after_and_holds_back_the_receiver(
    make_runtime: MakeRuntime, origin: Origin
) -> None:
    with WebhookReceiver(SECRET, fail_first=1, fail_status=429, fail_headers={"Retry-After": "120"}) as r:
        rt = _hook_runtime(make_runtime, origin, r.url, webhook_retry_base=0.5)
        clock = Clock()
        origin.add("/a.xml", feed(1, 2))
        out = poll_and_ingest(rt, "a", clock)
        assert out is not None and len(out.deliveries) == 2
        first, second = out.deliveries
        result = pipeline.deliver(rt, first, now=clock)
        assert result.status == "pending" and result.retry_in is not None and result.retry_in >= 120
        assert _delivery(rt, first).last_status_code == 429
        # the other delivery to the same receiver waits too, without spending an attempt
        held = pipeline.deliver(rt, second, now=clock)
        assert held.status == "pending" and held.retry_in is not None and held.retry_in >= 119
        assert _delivery(rt, second).attempts == 0
        assert len(r.attempts) == 1


def test_deliver_gives_up_at_once_on_410_gone(make_runtime: MakeRuntime, origin: Origin) -> None:
    with WebhookReceiver(SECRET, fail_first=100, fail_status=410) as r:
        rt = _hook_runtime(make_runtime, origin, r.url, webhook_max_attempts=10)
        clock = Clock()
        did = _one_delivery(rt, origin, clock)
        assert pipeline.deliver(rt, did, now=clock).status == "dead"
        d = _delivery(rt, did)
        assert (d.status, d.attempts, d.last_status_code) == ("dead", 1, 410)
        assert len(r.attempts) == 1
