"""Edge cases of ingest found in review, on SQLite and PostgreSQL: entries the database cannot hold
roll back alone, links that differ only in scheme / www / trailing slash are one page across sources,
a GUID that is a URL stands in for a missing link, and a poll that fails in an unexpected way is
recorded, never left claimed and silent."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from syndication import pipeline
from syndication.models import SourceConfig
from syndication.storage import repo
from syndication.storage.db import transaction
from syndication.storage.tables import PollRow, SourceRow
from tests.servers import Origin, make_rss
from tests.unit.test_ingest import (
    BODY_1,
    BODY_2,
    BODY_3,
    T0,
    MakeRuntime,
    articles,
    config_for,
    ingest,
    normalize,
    raw,
    sightings,
    src,
)


def test_an_entry_the_database_cannot_hold_loses_no_other(make_runtime: MakeRuntime) -> None:
    rt = make_runtime(config_for([src("a")]))
    result = ingest(
        rt,
        "a",
        [
            raw(guid="g1", url="https://a.example.cn/1", title="一", content_html=BODY_1),
            raw(guid="g2", url="https://a.example.cn/2", title="二", content_html=BODY_2, author="记" * 5000),
            raw(guid="g3\x00", url="https://a.example.cn/3\x00", title="三\x00", content_html=BODY_3),
        ],
    )
    assert len(result.new) == 3 and result.errors == []
    by_title = {a.title: a for a in articles(rt)}
    assert set(by_title) == {"一", "二", "三"}
    assert by_title["二"].author is not None and len(by_title["二"].author) <= 300
    assert all("\x00" not in (s.guid or "") for s in sightings(rt))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("http://www.gov.cn/a/1.html", "https://www.gov.cn/a/1.html"),
        ("https://www.gov.cn/a/1.html", "https://gov.cn/a/1.html"),
        ("https://www.gov.cn/a/1/", "https://www.gov.cn/a/1"),
        ("https://WWW.GOV.CN/a/1?utm_source=x", "https://www.gov.cn/a/1"),
    ],
)
def test_the_same_page_across_sources_despite_scheme_www_slash(
    make_runtime: MakeRuntime, first: str, second: str
) -> None:
    rt = make_runtime(config_for([src("a", priority=5), src("b")]))
    ingest(rt, "a", [raw(guid="a-1", url=first, title="公告", content_html=BODY_1)])
    result = ingest(rt, "b", [raw(guid="b-1", url=second, title="公告（转载）", content_html=BODY_2)])
    assert result.new == [] and result.duplicates == 1
    [article] = articles(rt)
    assert article.source_id == "a"


def test_within_one_source_scheme_variants_stay_two_entries(make_runtime: MakeRuntime) -> None:
    rt = make_runtime(config_for([src("a")]))
    result = ingest(
        rt,
        "a",
        [
            raw(guid="http://a.example.cn/1", title="一", content_html=BODY_1),
            raw(guid="https://a.example.cn/1", title="二", content_html=BODY_2),
        ],
    )
    assert len(result.new) == 2


def test_a_url_guid_is_the_link_when_there_is_none(make_runtime: MakeRuntime) -> None:
    rt = make_runtime(config_for([src("a")]))
    ingest(rt, "a", [raw(guid="https://a.example.cn/p/1.html", title="一", content_html=BODY_1)])
    [article] = articles(rt)
    assert article.url == "https://a.example.cn/p/1.html"


def test_short_different_entries_with_the_same_boilerplate_stay_apart(make_runtime: MakeRuntime) -> None:
    rt = make_runtime(config_for([src("a"), src("b")]))
    body = "<p>详见附件。</p>"
    ingest(rt, "a", [raw(guid="a1", url="https://a.example.cn/1", title="通知一", content_html=body)])
    ingest(rt, "b", [raw(guid="b1", url="https://b.example.cn/1", title="通知二", content_html=body)])
    assert len(articles(rt)) == 2


def test_an_unexpected_parse_failure_is_recorded(make_runtime: MakeRuntime) -> None:
    bad_json = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "t",
            "items": [{"id": "1", "url": "http://[::1/x", "content_text": "x"}],
        }
    ).encode()
    deep = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    )
    with Origin() as origin:
        origin.add("/bad.json", bad_json, content_type="application/feed+json")
        origin.add("/deep.json", deep, content_type="application/feed+json")
        origin.add("/ok.xml", make_rss([{"guid": "x", "title": "好", "description": BODY_1}]))
        sources = [
            SourceConfig(id=sid, name=sid, kind="feed", url=origin.url(path))
            for sid, path in (("bad", "/bad.json"), ("deep", "/deep.json"), ("ok", "/ok.xml"))
        ]
        rt = make_runtime(config_for(sources))
        for sid in ("bad", "deep", "ok"):
            poll_id = pipeline.poll(rt, sid)
            if poll_id is not None:
                pipeline.ingest(rt, poll_id)
    with transaction(rt.sessions, write=False) as s:
        states = {r.id: r for r in s.query(SourceRow)}
        polls = s.query(PollRow).count()
    assert polls == 3  # every poll recorded
    assert states["ok"].last_status == "ok"
    for sid in ("deep",):
        assert states[sid].last_status == "error" and states[sid].last_error, sid
        assert states[sid].lease_until is None
    assert states["bad"].last_status in (
        "ok",
        "error",
    )  # a bad entry URL: the entry or the poll fails, visibly
    assert [a.title for a in articles(rt) if a.title == "好"] == ["好"]


def test_a_row_the_database_refuses_rolls_back_alone(make_runtime: MakeRuntime, database_url: str) -> None:
    """Below normalize: an Item whose author is wider than the column (PostgreSQL refuses it) is
    reported as an error; the other entries of the same poll are stored."""
    rt = make_runtime(config_for([src("a")]))
    items = normalize(
        rt,
        "a",
        [
            raw(guid="g1", url="https://a.example.cn/1", title="一", content_html=BODY_1),
            raw(guid="g2", url="https://a.example.cn/2", title="二", content_html=BODY_2),
            raw(guid="g3", url="https://a.example.cn/3", title="三", content_html=BODY_3),
        ],
    )
    items[1] = replace(items[1], author="记" * 5000)
    with transaction(rt.sessions, serial=True) as s:
        result = repo.ingest_items(s, s.get_one(SourceRow, "a"), items, rt.config, T0)
    titles = {a.title for a in articles(rt)}
    assert {"一", "三"} <= titles
    if database_url.startswith("postgresql"):
        assert len(result.new) == 2 and len(result.errors) == 1 and "g2" in result.errors[0]
    else:  # SQLite does not enforce the width
        assert len(result.new) == 3 and result.errors == []


def test_entries_told_apart_only_by_a_fragment_or_content_stay_apart(make_runtime: MakeRuntime) -> None:
    rt = make_runtime(config_for([src("a")]))
    notices = [
        raw(url=f"https://a.example.cn/notices.html#n{i}", title=f"通知{i}", content_html=body)
        for i, body in enumerate((BODY_1, BODY_2, BODY_3), start=1)
    ]
    same_page = [
        raw(url="https://a.example.cn/list.html", title=f"公告{i}", content_html=f"<p>第{i}号公告。</p>")
        for i in range(1, 4)
    ]
    first = ingest(rt, "a", notices + same_page)
    assert len(first.new) == 6
    again = ingest(rt, "a", notices + same_page)  # a second poll of the same feed changes nothing
    assert (again.new, again.updated, again.unchanged) == ([], 0, 6)


def test_same_title_and_empty_body_with_different_guids_stay_apart(make_runtime: MakeRuntime) -> None:
    rt = make_runtime(config_for([src("a"), src("b")]))
    ingest(
        rt, "a", [raw(guid=f"https://a.example.cn/{i}", title="人事任免", content_html="") for i in range(3)]
    )
    ingest(rt, "b", [raw(guid="https://b.example.cn/9", title="人事任免", content_html="")])
    assert len(articles(rt)) == 4


def test_rdf_dc_date_dates_the_entry(make_runtime: MakeRuntime) -> None:
    rt = make_runtime(config_for([src("a")]))
    ingest(rt, "a", [raw(guid="g", title="一", content_html=BODY_1, updated="2024-02-01T08:00:00+08:00")])
    [article] = articles(rt)
    assert (
        article.published_at is not None and article.published_at.isoformat() == "2024-02-01T00:00:00+00:00"
    )
    assert article.sort_at == article.published_at


def test_410_gone_disables_the_source_visibly_until_its_url_changes(make_runtime: MakeRuntime) -> None:
    with Origin() as origin:
        origin.fail("/gone.xml", 410)
        source = SourceConfig(id="g", name="g", kind="feed", url=origin.url("/gone.xml"))
        rt = make_runtime(config_for([source]))
        assert pipeline.poll(rt, "g") is None
    with transaction(rt.sessions) as s:
        row = s.get_one(SourceRow, "g")
        assert not row.enabled and row.disabled_reason and "410 Gone" in row.disabled_reason
        repo.sync_sources(s, rt.config, T0)  # a restart does not turn it back on
        assert not s.get_one(SourceRow, "g").enabled
        moved = replace(rt.config, sources=(replace(source, url="http://127.0.0.1:9/new.xml"),))
        repo.sync_sources(s, moved, T0)  # the operator gave it a new URL
        row = s.get_one(SourceRow, "g")
        assert row.enabled and row.disabled_reason is None


def test_the_interval_adapts_to_how_often_the_source_publishes(make_runtime: MakeRuntime) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC).replace(microsecond=0)
    items = [
        {
            "guid": f"g{i}",
            "title": f"第{i}篇",
            "description": f"<p>正文{i}</p>",
            "pubDate": (now - timedelta(minutes=10 * i)).strftime("%a, %d %b %Y %H:%M:%S +0000"),
        }
        for i in range(6)
    ]
    with Origin() as origin:
        origin.add("/a.xml", make_rss(items))
        source = SourceConfig(
            id="a",
            name="a",
            kind="feed",
            url=origin.url("/a.xml"),
            interval=timedelta(hours=1),
            min_interval=timedelta(minutes=2),
            max_interval=timedelta(hours=2),
        )
        rt = make_runtime(config_for([source]))
        poll_id = pipeline.poll(rt, "a")
        assert poll_id is not None
        pipeline.ingest(rt, poll_id)
        pipeline.poll(rt, "a")  # 304: now the history is there
    with transaction(rt.sessions, write=False) as s:
        row = s.get_one(SourceRow, "a")
        wait = row.next_poll_at - (row.last_polled_at or now)
    assert timedelta(minutes=4) <= wait <= timedelta(minutes=6), wait  # half the 10-minute cadence (±10 %)
