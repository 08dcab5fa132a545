"""Dedupe and the outbox through storage.repo.ingest_items / pipeline.ingest, on SQLite and PostgreSQL.

Items are built from RawItems with process.normalize.normalize_item (the same path pipeline.ingest
takes); one test runs pipeline.poll + pipeline.ingest against a local Origin end to end.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from syndication import pipeline
from syndication.models import ChannelConfig, Config, Item, RawItem, SourceConfig, WebhookConfig
from syndication.process.normalize import normalize_item
from syndication.runtime import Runtime
from syndication.storage import repo
from syndication.storage.db import transaction
from syndication.storage.tables import ArticleRow, ChannelFeedRow, DeliveryRow, SightingRow, SourceRow
from tests.conftest import build_config
from tests.servers import Origin, make_rss

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

BODY_1 = "<p>" + "国务院办公厅关于进一步优化政务服务提升行政效能的意见全文如下。" * 8 + "</p>"
BODY_2 = "<p>" + "最高人民检察院发布第四十批指导性案例，涉及知识产权保护。" * 8 + "</p>"
BODY_3 = "<p>" + "生态环境部通报今年第一季度全国地表水环境质量状况。" * 8 + "</p>"

MakeRuntime = Callable[..., Runtime]


def src(sid: str, priority: int = 0, name: str | None = None) -> SourceConfig:
    return SourceConfig(
        id=sid,
        name=name or f"Source {sid}",
        kind="feed",
        url=f"http://127.0.0.1:9/{sid}.xml",
        priority=priority,
        timezone="Asia/Shanghai",
    )


def config_for(
    sources: Sequence[SourceConfig],
    channels: Sequence[ChannelConfig] | None = None,
    webhooks: Sequence[WebhookConfig] = (),
) -> Config:
    if channels is None:
        channels = [ChannelConfig(id="all", title="All", sources=("*",))]
    return build_config(sources, channels, webhooks)


def raw(**kw: Any) -> RawItem:
    return RawItem(**kw)


def normalize(rt: Runtime, source_id: str, raws: Sequence[RawItem], now: datetime = T0) -> list[Item]:
    source = rt.config.source(source_id)
    assert source is not None
    return [normalize_item(r, source, base_url=source.url, now=now) for r in raws]


def ingest(rt: Runtime, source_id: str, raws: Sequence[RawItem], now: datetime = T0) -> repo.IngestResult:
    items = normalize(rt, source_id, raws, now)
    with transaction(rt.sessions, serial=True) as s:
        return repo.ingest_items(s, s.get_one(SourceRow, source_id), items, rt.config, now)


def articles(rt: Runtime) -> list[ArticleRow]:
    with transaction(rt.sessions, write=False) as s:
        return list(s.scalars(select(ArticleRow).order_by(ArticleRow.id)))


def sightings(rt: Runtime, article_id: int | None = None) -> list[SightingRow]:
    with transaction(rt.sessions, write=False) as s:
        q = select(SightingRow).order_by(SightingRow.id)
        if article_id is not None:
            q = q.where(SightingRow.article_id == article_id)
        return list(s.scalars(q))


def deliveries(rt: Runtime) -> list[DeliveryRow]:
    with transaction(rt.sessions, write=False) as s:
        return list(s.scalars(select(DeliveryRow).order_by(DeliveryRow.id)))


def counts(rt: Runtime) -> dict[str, int]:
    with transaction(rt.sessions, write=False) as s:
        return repo.counts(s)


def provenance(rt: Runtime, article_id: int, channel_id: str = "all") -> Any:
    channel = rt.config.channel(channel_id)
    assert channel is not None
    with transaction(rt.sessions, write=False) as s:
        art = s.get_one(ArticleRow, article_id)
        return pipeline.published_items(s, rt.config, channel, [art])[0].provenance


# ---------------------------------------------------------------- the same article at two sources


def test_same_canonical_url_at_two_sources_is_one_article_original_by_priority(
    make_runtime: MakeRuntime,
) -> None:
    rt = make_runtime(config_for([src("a", 0, "地方网"), src("b", 10, "国务院")]))
    ra = ingest(
        rt,
        "a",
        [
            raw(
                guid="a-1",
                url="https://www.gov.cn/zhengce/t1.shtml?utm_source=weibo&utm_medium=x",
                title="转载：优化政务服务",
                content_html=BODY_1 + "<p>转载自国务院网站</p>",
                published="2024-03-01 09:00",
            )
        ],
    )
    rb = ingest(
        rt,
        "b",
        [
            raw(
                guid="b-77",
                url="https://WWW.GOV.CN/zhengce/t1.shtml",
                title="优化政务服务的意见",
                content_html=BODY_1,
                published="2024-03-01 10:00",  # later, but from the higher-priority source
            )
        ],
        now=T0 + timedelta(minutes=5),
    )
    assert len(ra.new) == 1 and rb.new == [] and rb.duplicates == 1
    [art] = articles(rt)
    assert art.id == ra.new[0]
    assert {s.source_id for s in sightings(rt, art.id)} == {"a", "b"}
    # the original follows the higher-priority source
    assert art.source_id == "b"
    assert art.publisher == "国务院"
    assert art.url == "https://www.gov.cn/zhengce/t1.shtml"
    assert art.title == "优化政务服务的意见"
    b_sighting = next(s for s in sightings(rt) if s.source_id == "b")
    assert art.original_sighting_id == b_sighting.id
    prov = provenance(rt, art.id)
    assert prov.source_id == "b" and prov.publisher == "国务院"
    assert [(x.source_id, x.url) for x in prov.also_at] == [
        ("a", "https://www.gov.cn/zhengce/t1.shtml?utm_source=weibo&utm_medium=x")
    ]


def test_same_body_different_title_and_url_is_one_article_earliest_publish_wins(
    make_runtime: MakeRuntime,
) -> None:
    rt = make_runtime(config_for([src("a", 5), src("b", 5)]))
    r1 = ingest(
        rt,
        "a",
        [
            raw(
                guid="x1",
                url="https://a.example.cn/1.html",
                title="标题甲",
                content_html=BODY_2,
                published="2024-03-01 12:00",
            )
        ],
    )
    r2 = ingest(
        rt,
        "b",
        [
            raw(
                guid="y9",
                url="https://b.example.cn/other/9.html",
                title="完全不同的标题乙",
                content_html="<div>" + BODY_2 + "</div>",
                published="2024-03-01 08:00",
            )
        ],
        now=T0 + timedelta(hours=1),
    )
    assert len(r1.new) == 1 and r2.new == [] and r2.duplicates == 1
    [art] = articles(rt)
    assert len(sightings(rt, art.id)) == 2
    # equal priority: the earliest publish time is the original, although it was seen later
    assert art.source_id == "b"
    assert art.url == "https://b.example.cn/other/9.html"
    assert art.publisher == "Source b"
    assert art.title == "完全不同的标题乙"
    assert art.published_at == datetime(2024, 3, 1, 0, 0, tzinfo=UTC)  # 08:00 Asia/Shanghai
    prov = provenance(rt, art.id)
    assert prov.source_id == "b"
    assert [x.source_id for x in prov.also_at] == ["a"]
    assert prov.also_at[0].url == "https://a.example.cn/1.html"


def test_priority_beats_publish_time(make_runtime: MakeRuntime) -> None:
    rt = make_runtime(config_for([src("low", 0), src("high", 3)]))
    ingest(
        rt,
        "high",
        [
            raw(
                guid="h",
                url="https://h.example.cn/1",
                content_html=BODY_2,
                published="2024-03-01 12:00",
                publisher="人民日报",
            )
        ],
    )
    ingest(
        rt,
        "low",
        [raw(guid="l", url="https://l.example.cn/1", content_html=BODY_2, published="2024-02-01 12:00")],
    )
    [art] = articles(rt)
    assert art.source_id == "high"
    assert art.publisher == "人民日报"  # the entry's own 来源 beats the source's name
    assert art.url == "https://h.example.cn/1"


def test_same_global_guid_at_two_sources_is_one_article(make_runtime: MakeRuntime) -> None:
    rt = make_runtime(config_for([src("a"), src("b")]))
    guid = "https://www.spp.gov.cn/spp/xwfbh/t20240301_1.shtml"
    ingest(rt, "a", [raw(guid=guid, url="https://mirror-a.example.cn/p/1", title="一", content_html=BODY_2)])
    r = ingest(
        rt, "b", [raw(guid=guid, url="https://mirror-b.example.cn/q?id=7", title="二", content_html=BODY_3)]
    )
    assert r.new == [] and r.duplicates == 1
    [art] = articles(rt)
    assert sorted(s.source_id for s in sightings(rt, art.id)) == ["a", "b"]


def test_short_guid_at_two_sources_is_not_global(make_runtime: MakeRuntime) -> None:
    rt = make_runtime(config_for([src("a"), src("b")]))
    ingest(rt, "a", [raw(guid="1234", url="https://a.example.cn/1", content_html=BODY_1)])
    r = ingest(rt, "b", [raw(guid="1234", url="https://b.example.cn/1", content_html=BODY_2)])
    assert len(r.new) == 1
    assert len(articles(rt)) == 2


# ---------------------------------------------------------------- entries that must stay apart


def test_one_source_links_differing_only_by_utm_stay_two_articles(make_runtime: MakeRuntime) -> None:
    rt = make_runtime(config_for([src("a")]))
    r = ingest(
        rt,
        "a",
        [
            raw(
                guid="g-1",
                url="https://a.example.cn/news.html?utm_source=rss",
                title="一",
                content_html=BODY_1,
            ),
            raw(
                guid="g-2",
                url="https://a.example.cn/news.html?utm_source=app",
                title="二",
                content_html=BODY_2,
            ),
        ],
    )
    assert len(r.new) == 2 and r.duplicates == 0
    arts = articles(rt)
    assert len(arts) == 2
    assert {a.canonical_url for a in arts} == {"https://a.example.cn/news.html"}


@pytest.mark.parametrize("same_source", [True, False], ids=["one-source", "two-sources"])
def test_query_id_1_and_2_stay_two_articles(make_runtime: MakeRuntime, same_source: bool) -> None:
    rt = make_runtime(config_for([src("a"), src("b")]))
    ingest(rt, "a", [raw(url="https://cms.example.cn/article.php?id=1", title="一", content_html=BODY_1)])
    r = ingest(
        rt,
        "a" if same_source else "b",
        [raw(url="https://cms.example.cn/article.php?id=2", title="二", content_html=BODY_2)],
    )
    assert len(r.new) == 1
    assert sorted(a.canonical_url or "" for a in articles(rt)) == [
        "https://cms.example.cn/article.php?id=1",
        "https://cms.example.cn/article.php?id=2",
    ]


# ---------------------------------------------------------------- idempotence and updates


def _hooked_config(*sources: SourceConfig) -> Config:
    ids = tuple(s.id for s in sources)
    return config_for(
        sources,
        channels=[
            ChannelConfig(id="all", title="All", sources=("*",)),
            ChannelConfig(id="first", title="First only", sources=ids[:1]),
            ChannelConfig(id="rest", title="The others", sources=ids[1:]),
        ],
        webhooks=[
            WebhookConfig(id="hook-first", url="http://127.0.0.1:9/h1", channels=("first",), secret=SECRET),
            WebhookConfig(id="hook-rest", url="http://127.0.0.1:9/h2", channels=("rest",), secret=SECRET),
        ],
    )


def test_reingesting_identical_items_creates_nothing(make_runtime: MakeRuntime) -> None:
    rt = make_runtime(_hooked_config(src("a"), src("b")))
    feed = [
        raw(
            guid="g-1",
            url="https://a.example.cn/1",
            title="一",
            content_html=BODY_1,
            published="2024-03-01 09:00",
            categories=("政策",),
        ),
        raw(guid="g-2", url="https://a.example.cn/2", title="二", content_html=BODY_2),
        raw(url="https://a.example.cn/3", title="无 GUID", content_html=BODY_3, updated="2024-03-01"),
    ]
    first = ingest(rt, "a", feed)
    assert len(first.new) == 3 and len(first.deliveries) == 3
    before = counts(rt)
    before_articles = [(a.id, a.changed_at, a.content_hash) for a in articles(rt)]
    with transaction(rt.sessions) as s:
        s.execute(update(ChannelFeedRow).values(dirty_since=None))
    again = ingest(rt, "a", feed, now=T0 + timedelta(minutes=15))
    assert again.new == [] and again.duplicates == 0 and again.updated == 0
    assert again.unchanged == 3
    assert again.deliveries == [] and again.channels == set()
    assert counts(rt) == before
    assert [(a.id, a.changed_at, a.content_hash) for a in articles(rt)] == before_articles
    with transaction(rt.sessions, write=False) as s:
        assert repo.dirty_channels(s) == []
    assert {s.last_seen_at for s in sightings(rt)} == {T0 + timedelta(minutes=15)}


def test_reingest_through_pipeline_is_skipped(make_runtime: MakeRuntime) -> None:
    """pipeline.ingest of a poll that was already ingested does nothing."""
    with Origin() as origin:
        origin.add(
            "/a.xml",
            make_rss([{"guid": "g-1", "link": "https://a.example.cn/1", "title": "一", "content": BODY_1}]),
        )
        source = SourceConfig(id="a", name="甲", kind="feed", url=origin.url("/a.xml"))
        rt = make_runtime(_hooked_config(source))
        poll_id = pipeline.poll(rt, "a")
        assert poll_id is not None
        out = pipeline.ingest(rt, poll_id)
        assert out is not None and out.new == 1 and len(out.deliveries) == 1
        assert pipeline.ingest(rt, poll_id) is None
        assert counts(rt)["articles"] == 1 and len(deliveries(rt)) == 1


def test_content_change_at_same_source_updates_without_new_delivery(make_runtime: MakeRuntime) -> None:
    rt = make_runtime(_hooked_config(src("a")))
    first = ingest(
        rt, "a", [raw(guid="g-1", url="https://a.example.cn/1", title="初稿", content_html=BODY_1)]
    )
    [art_id] = first.new
    with transaction(rt.sessions) as s:
        s.execute(update(ChannelFeedRow).values(dirty_since=None))
    later = T0 + timedelta(hours=2)
    second = ingest(
        rt,
        "a",
        [raw(guid="g-1", url="https://a.example.cn/1", title="修订稿", content_html=BODY_2)],
        now=later,
    )
    assert second.new == [] and second.updated == 1 and second.duplicates == 0
    assert second.deliveries == []
    [art] = articles(rt)
    assert art.id == art_id
    assert art.title == "修订稿"
    assert "第四十批指导性案例" in art.content_text
    assert art.changed_at == later
    assert len(sightings(rt)) == 1
    assert len(deliveries(rt)) == 1
    assert "all" in second.channels and "first" in second.channels
    with transaction(rt.sessions, write=False) as s:
        assert set(repo.dirty_channels(s)) == {"all", "first"}


# ---------------------------------------------------------------- outbox: deliveries and channels


def test_one_delivery_per_new_article_per_subscribed_webhook(make_runtime: MakeRuntime) -> None:
    rt = make_runtime(_hooked_config(src("a"), src("b")))
    ra = ingest(
        rt,
        "a",
        [
            raw(guid="a1", url="https://a.example.cn/1", content_html=BODY_1),
            raw(guid="a2", url="https://a.example.cn/2", content_html=BODY_2),
        ],
    )
    rows = deliveries(rt)
    # source a is in channel "first" only (besides "all"): hook-first gets both, hook-rest none
    assert [(d.webhook_id, d.article_id) for d in rows] == [
        ("hook-first", ra.new[0]),
        ("hook-first", ra.new[1]),
    ]
    assert all(d.status == "pending" and d.attempts == 0 and d.event == "article.published" for d in rows)
    assert all(d.channels == ["first"] for d in rows)
    assert len({d.msg_id for d in rows}) == 2
    assert sorted(ra.deliveries) == sorted(d.id for d in rows)

    rb = ingest(
        rt,
        "b",
        [
            raw(guid="b1", url="https://b.example.cn/1", content_html=BODY_3),  # new
            raw(guid="b2", url="https://a.example.cn/1?utm_campaign=x", content_html=BODY_1),  # dup of a1
        ],
    )
    assert len(rb.new) == 1 and rb.duplicates == 1
    got = sorted((d.webhook_id, d.article_id) for d in deliveries(rt))
    # hook-rest hears of b's new article, and once of a1 (first seen in a channel it subscribes to);
    # hook-first gets nothing new: b is not in "first", and a1 already has its delivery.
    assert got == sorted(
        [
            ("hook-first", ra.new[0]),
            ("hook-first", ra.new[1]),
            ("hook-rest", rb.new[0]),
            ("hook-rest", ra.new[0]),
        ]
    )
    assert counts(rt)["articles"] == 3


def test_webhook_of_another_channel_gets_nothing(make_runtime: MakeRuntime) -> None:
    cfg = config_for(
        [src("a"), src("b")],
        channels=[ChannelConfig(id="bee", title="B", sources=("b",))],
        webhooks=[WebhookConfig(id="h", url="http://127.0.0.1:9/h", channels=("bee",), secret=SECRET)],
    )
    rt = make_runtime(cfg)
    r = ingest(rt, "a", [raw(guid="a1", url="https://a.example.cn/1", content_html=BODY_1)])
    assert len(r.new) == 1
    assert r.deliveries == [] and deliveries(rt) == []
    assert r.channels == set()


def test_star_channel_includes_every_source_and_channels_are_marked_dirty(make_runtime: MakeRuntime) -> None:
    cfg = config_for(
        [src("a"), src("b"), src("c")],
        channels=[
            ChannelConfig(id="everything", title="All", sources=("*",)),
            ChannelConfig(id="only-a", title="A", sources=("a",)),
            ChannelConfig(id="only-c", title="C", sources=("c",)),
        ],
    )
    rt = make_runtime(cfg)
    with transaction(rt.sessions) as s:
        s.execute(update(ChannelFeedRow).values(dirty_since=None))
        assert repo.dirty_channels(s) == []
    at = T0 + timedelta(minutes=1)
    ra = ingest(rt, "a", [raw(guid="a1", url="https://a.example.cn/1", content_html=BODY_1)], now=at)
    rb = ingest(rt, "b", [raw(guid="b1", url="https://b.example.cn/1", content_html=BODY_2)], now=at)
    assert ra.channels == {"everything", "only-a"}
    assert rb.channels == {"everything"}
    with transaction(rt.sessions, write=False) as s:
        rows = {r.channel_id: r.dirty_since for r in s.scalars(select(ChannelFeedRow))}
        assert rows == {"everything": at, "only-a": at, "only-c": None}
        every = repo.channel_articles(s, None, 50)
        only_a = repo.channel_articles(s, ["a"], 50)
    assert {a.id for a in every} == {ra.new[0], rb.new[0]}
    assert [a.id for a in only_a] == ra.new
    # a render of the star channel carries both articles
    assert pipeline.render(rt, "everything", now=lambda: at)
    with transaction(rt.sessions, write=False) as s:
        row = s.get_one(ChannelFeedRow, "everything")
        assert row.item_count == 2 and row.dirty_since is None


def test_poll_and_ingest_against_origin_dedupes_across_sources(make_runtime: MakeRuntime) -> None:
    with Origin() as origin:
        origin.add(
            "/a.xml",
            make_rss(
                [
                    {
                        "guid": "a-1",
                        "link": "https://www.gov.cn/t1.shtml?utm_source=feed",
                        "title": "甲一",
                        "content": BODY_1,
                        "pubDate": "Fri, 01 Mar 2024 09:00:00 +0800",
                    },
                    {
                        "guid": "a-2",
                        "link": "https://www.gov.cn/t2.shtml",
                        "title": "甲二",
                        "content": BODY_2,
                    },
                ]
            ),
        )
        origin.add(
            "/b.xml",
            make_rss(
                [
                    {
                        "guid": "b-1",
                        "link": "https://www.gov.cn/t1.shtml",
                        "title": "乙一",
                        "content": BODY_1,
                        "pubDate": "Fri, 01 Mar 2024 10:00:00 +0800",
                    },
                    {
                        "guid": "b-3",
                        "link": "https://www.gov.cn/t3.shtml",
                        "title": "乙三",
                        "content": BODY_3,
                    },
                ]
            ),
        )
        cfg = config_for(
            [
                SourceConfig(id="a", name="甲网", kind="feed", url=origin.url("/a.xml"), priority=1),
                SourceConfig(id="b", name="乙网", kind="feed", url=origin.url("/b.xml"), priority=0),
            ],
            webhooks=[WebhookConfig(id="h", url="http://127.0.0.1:9/h", channels=("all",), secret=SECRET)],
        )
        rt = make_runtime(cfg)
        outs = []
        for sid in ("b", "a"):
            poll_id = pipeline.poll(rt, sid)
            assert poll_id is not None
            outs.append(pipeline.ingest(rt, poll_id))
    ob, oa = outs
    assert ob is not None and oa is not None
    assert (ob.new, ob.duplicates) == (2, 0)
    assert (oa.new, oa.duplicates) == (1, 1)
    arts = articles(rt)
    assert len(arts) == 3
    t1 = next(a for a in arts if a.canonical_url == "https://www.gov.cn/t1.shtml")
    assert t1.source_id == "a" and t1.publisher == "甲网"  # higher priority, although seen second
    assert t1.url == "https://www.gov.cn/t1.shtml"
    assert len(deliveries(rt)) == 3
    assert ob.channels == ["all"] and oa.channels == ["all"]


def test_reingesting_a_future_dated_entry_is_unchanged(make_runtime: MakeRuntime) -> None:
    """Regression: a future publish time is clamped to `now` at each poll; the new clamp must not
    count as a change (it would re-date the article and pin it to the top of every channel)."""
    rt = make_runtime(config_for([src("a")]))
    feed = [raw(guid="g", url="https://a.example.cn/1", content_html=BODY_1, published="2030-01-01 00:00")]
    first = ingest(rt, "a", feed)
    [art] = articles(rt)
    assert art.published_at == T0  # clamped to the first sighting's `now`
    again = ingest(rt, "a", feed, now=T0 + timedelta(hours=1))
    [after] = articles(rt)
    assert (again.updated, again.unchanged) == (0, 1)
    assert after.sort_at == art.sort_at == T0
    assert after.changed_at == art.changed_at
    assert first.new == [after.id]


def test_an_entry_with_a_very_long_url_loses_nothing(make_runtime: MakeRuntime) -> None:
    """PostgreSQL cannot btree-index a value over ~2.7 KB: lookups go through hashes instead."""
    long_url = "https://a.example.cn/search?state=" + secrets.token_urlsafe(2400)  # ~3.2 KB, random
    with Origin() as origin:
        origin.add(
            "/a.xml",
            make_rss(
                [
                    {"guid": "g-long", "link": long_url, "title": "长链接", "content": BODY_1},
                    {"guid": "g-ok", "link": "https://a.example.cn/2", "title": "正常", "content": BODY_2},
                ]
            ),
        )
        rt = make_runtime(
            config_for([SourceConfig(id="a", name="甲", kind="feed", url=origin.url("/a.xml"))])
        )
        poll_id = pipeline.poll(rt, "a")
        assert poll_id is not None
        out = pipeline.ingest(rt, poll_id)
    assert out is not None and out.new == 2 and out.bad_items == 0
    assert "正常" in {a.title for a in articles(rt)}
