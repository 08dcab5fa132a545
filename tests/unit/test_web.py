"""The web app (FastAPI TestClient) on SQLite and PostgreSQL: stored feeds with ETag / Last-Modified /
304, 404 and 503 answers, /healthz and the index."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from syndication.models import ChannelConfig, RawItem, SourceConfig
from syndication.pipeline import render
from syndication.process.normalize import normalize_item
from syndication.runtime import Runtime
from syndication.settings import Settings
from syndication.storage import repo
from syndication.storage.db import transaction
from syndication.storage.tables import ChannelFeedRow, SourceRow
from syndication.web.app import create_app
from tests.conftest import build_config

T0 = datetime(2024, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
MakeRuntime = Callable[..., Runtime]

SOURCE = SourceConfig(id="gov", name="中国政府网", kind="feed", url="http://127.0.0.1:9/gov.xml")
CHANNELS = [
    ChannelConfig(id="news", title="要闻 & <政策>", sources=("*",)),
    ChannelConfig(id="later", title="Not rendered yet", sources=("gov",)),
]


@pytest.fixture
def rt(make_runtime: MakeRuntime) -> Runtime:
    rt = make_runtime(build_config([SOURCE], CHANNELS))
    item = normalize_item(
        RawItem(
            guid="https://www.gov.cn/t1.shtml",
            url="https://www.gov.cn/t1.shtml",
            title="国务院常务会议",
            content_html="<p>" + "会议研究部署进一步优化营商环境的措施。" * 3 + "</p>",
            published="2024-03-01 08:00",
        ),
        SOURCE,
        base_url=SOURCE.url,
        now=T0,
    )
    with transaction(rt.sessions, serial=True) as s:
        repo.ingest_items(s, s.get_one(SourceRow, "gov"), [item], rt.config, T0)
    assert render(rt, "news", now=lambda: T0)
    return rt


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(rt)) as c:
        yield c


def _stored(rt: Runtime, channel_id: str = "news") -> ChannelFeedRow:
    with transaction(rt.sessions, write=False) as s:
        return s.get_one(ChannelFeedRow, channel_id)


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("rss", "application/rss+xml"), ("atom", "application/atom+xml"), ("json", "application/feed+json")],
)
def test_feed_serves_stored_bytes_with_validators(
    client: TestClient, rt: Runtime, fmt: str, media_type: str
) -> None:
    row = _stored(rt)
    r = client.get(f"/feeds/news.{fmt}")
    assert r.status_code == 200
    assert r.content == getattr(row, fmt)
    assert "国务院常务会议".encode() in r.content
    assert r.headers["content-type"].split(";")[0].strip() == media_type
    assert r.headers["content-type"].replace(" ", "").endswith(";charset=utf-8")
    assert r.headers["etag"] == getattr(row, f"{fmt}_etag")
    last_modified = r.headers["last-modified"]
    assert last_modified == "Fri, 01 Mar 2024 08:30:15 GMT"
    assert parsedate_to_datetime(last_modified) == T0.replace(microsecond=0)


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_if_none_match_gives_304_without_body(client: TestClient, rt: Runtime, fmt: str) -> None:
    etag = client.get(f"/feeds/news.{fmt}").headers["etag"]
    for header in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        r = client.get(f"/feeds/news.{fmt}", headers={"If-None-Match": header})
        assert r.status_code == 304, header
        assert r.content == b""
        assert r.headers["etag"] == etag
    r = client.get(f"/feeds/news.{fmt}", headers={"If-None-Match": '"something-else"'})
    assert r.status_code == 200 and r.content == getattr(_stored(rt), fmt)
    # If-None-Match takes precedence over a matching If-Modified-Since
    r = client.get(
        f"/feeds/news.{fmt}",
        headers={"If-None-Match": '"old"', "If-Modified-Since": "Fri, 01 Mar 2030 00:00:00 GMT"},
    )
    assert r.status_code == 200


def test_if_modified_since(client: TestClient) -> None:
    last_modified = client.get("/feeds/news.rss").headers["last-modified"]
    r = client.get("/feeds/news.rss", headers={"If-Modified-Since": last_modified})
    assert r.status_code == 304 and r.content == b""
    later = format_datetime(datetime(2024, 6, 1, tzinfo=UTC), usegmt=True)
    assert client.get("/feeds/news.rss", headers={"If-Modified-Since": later}).status_code == 304
    earlier = format_datetime(datetime(2024, 3, 1, 8, 30, 14, tzinfo=UTC), usegmt=True)
    r = client.get("/feeds/news.rss", headers={"If-Modified-Since": earlier})
    assert r.status_code == 200 and r.content
    r = client.get("/feeds/news.rss", headers={"If-Modified-Since": "not a date"})
    assert r.status_code == 200


def test_rerender_with_new_content_changes_etag(client: TestClient, rt: Runtime) -> None:
    old = client.get("/feeds/news.rss").headers["etag"]
    item = normalize_item(
        RawItem(
            guid="https://www.gov.cn/t2.shtml",
            url="https://www.gov.cn/t2.shtml",
            title="第二篇",
            content_html="<p>" + "新闻发布会介绍一季度国民经济运行情况。" * 3 + "</p>",
        ),
        SOURCE,
        base_url=SOURCE.url,
        now=T0,
    )
    later = datetime(2024, 3, 2, tzinfo=UTC)
    with transaction(rt.sessions, serial=True) as s:
        repo.ingest_items(s, s.get_one(SourceRow, "gov"), [item], rt.config, later)
    assert render(rt, "news", now=lambda: later)
    r = client.get("/feeds/news.rss", headers={"If-None-Match": old})
    assert r.status_code == 200
    assert r.headers["etag"] != old
    assert "第二篇".encode() in r.content
    assert r.headers["last-modified"] == "Sat, 02 Mar 2024 00:00:00 GMT"


@pytest.mark.parametrize(
    "path", ["/feeds/nope.rss", "/feeds/nope.atom", "/feeds/nope.json", "/feeds/news.xml", "/feeds/news"]
)
def test_unknown_channel_or_format_is_404(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert "error" in r.json()


def test_channel_not_rendered_yet_is_503_with_retry_after(client: TestClient) -> None:
    for fmt in ("rss", "atom", "json"):
        r = client.get(f"/feeds/later.{fmt}")
        assert r.status_code == 503
        assert int(r.headers["retry-after"]) > 0
        assert "not been rendered" in r.json()["error"]


def test_healthz_ok_on_migrated_database(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_healthz_503_on_empty_database(engine: Engine, database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, config=str(tmp_path / "x.toml"))
    rt = Runtime(settings=settings, config=build_config([SOURCE], CHANNELS), engine=engine)
    with TestClient(create_app(rt)) as c:
        r = c.get("/healthz")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "error"
        assert "syndication db upgrade" in body["error"]


def test_index_lists_channels(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "要闻 &amp; &lt;政策&gt;" in html  # escaped
    assert "<政策>" not in html
    for cid in ("news", "later"):
        assert f'href="/feeds/{cid}.rss"' in html and f'href="/feeds/{cid}.atom"' in html
        assert f'href="/feeds/{cid}.json"' in html


def test_head_of_a_feed_gives_headers_without_body(client: TestClient, rt: Runtime) -> None:
    """RFC 9110 §9.1: HEAD wherever GET is (feed checkers use it)."""
    row = _stored(rt)
    r = client.head("/feeds/news.rss")
    assert r.status_code == 200
    assert r.headers["etag"] == row.rss_etag
    assert r.headers["content-type"].startswith("application/rss+xml")
    assert r.headers["content-length"] == str(len(row.rss or b""))
    assert r.content == b""
    r = client.head("/feeds/news.rss", headers={"If-None-Match": row.rss_etag or ""})
    assert r.status_code == 304
    assert client.head("/feeds/nope.rss").status_code == 404


def test_json_feed_is_served_as_json_feed_1_1(client: TestClient, rt: Runtime) -> None:
    r = client.get("/feeds/news.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["title"] == "要闻 & <政策>"  # JSON, not HTML: nothing escaped
    assert doc["feed_url"] == f"{rt.settings.base_url}/feeds/news.json"
    (item,) = doc["items"]
    assert item["title"] == "国务院常务会议"
    assert item["url"] == "https://www.gov.cn/t1.shtml"
    assert "原文链接" in item["content_html"] and item["_syndication"]["source_id"] == "gov"
    r = client.head("/feeds/news.json", headers={"If-None-Match": _stored(rt).json_etag or ""})
    assert r.status_code == 304
