"""`syndication run --once` end to end, as a user runs it: a real Celery worker on real Redis, SQLite and
PostgreSQL, feeds served from 127.0.0.1 (real corpus feeds and fixtures), a webhook receiver that fails
the first attempts. Checks every entry once in RSS, Atom and JSON Feed with its attribution, every article
delivered once with a valid signature, and a second run that only sends conditional requests."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import redis
from lxml import etree
from sqlalchemy import update
from sqlalchemy.orm import Session

from syndication.storage.db import make_engine
from syndication.storage.tables import DeliveryRow
from tests.integration.conftest import SECRET, Deployment, channel_toml, source_toml, webhook_toml
from tests.servers import Origin, WebhookReceiver, make_atom, make_rss

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "feeds"
GB2312_FEED = CORPUS / "chinese-legacy-encodings" / "GB2312" / "acnnewswire.net.xml"
REAL_FEED = CORPUS / "real" / "fastfeedparser" / "tests" / "integration" / "pypy.xml"

BODY_1 = (
    "<p>最高人民检察院近日召开会议，部署全国检察机关开展专项工作，要求各级检察院切实履行法律监督职责。</p>"
    * 5
)
BODY_2 = "<p>湖北省检察机关锚定以高质量人才队伍建设助推检察工作现代化这一目标，不断创新人才培育机制。</p>" * 5
BODY_3 = "<p>第三篇文章的正文，与前两篇毫不相同，讲述了基层检察院开展普法宣传进社区的做法与成效。</p>" * 5


def official_feed() -> bytes:
    return make_rss(
        [
            {
                "guid": "https://www.spp.gov.cn/spp/zdgz/202312/t20231201_635358.shtml",
                "title": "湖北：以高质量人才队伍建设助推检察工作现代化",
                "link": "https://www.spp.gov.cn/spp/zdgz/202312/t20231201_635358.shtml",
                "description": BODY_2,
                "pubDate": "2023-12-01 08:30",
                "author": "戴小巍",
            },
            {
                "guid": "spp-2",
                "title": "最高检部署专项工作",
                "link": "https://www.spp.gov.cn/spp/a/2.shtml",
                "description": BODY_1,
                "pubDate": "Fri, 01 Dec 2023 10:00:00 +0800",
                "source": "检察日报",
            },
        ],
        title="最高人民检察院",
    )


def reprint_feed() -> bytes:
    # The same two articles reprinted: one links the original with tracking parameters, the other has
    # a new URL and title but the same body. Plus one article of its own.
    return make_atom(
        [
            {
                "id": "tag:reprint.example,2023:1",
                "title": "湖北以人才建设助推检察工作现代化（转载）",
                "link": "https://www.spp.gov.cn/spp/zdgz/202312/t20231201_635358.shtml?utm_source=rss&utm_medium=feed",
                "content": BODY_2,
                "published": "2023-12-03T09:00:00+08:00",
            },
            {
                "id": "tag:reprint.example,2023:2",
                "title": "转载：最高检部署专项工作",
                "link": "https://reprint.example/news/2.html",
                "content": BODY_1,
                "published": "2023-12-02T09:00:00+08:00",
            },
            {
                "id": "tag:reprint.example,2023:3",
                "title": "基层普法进社区",
                "link": "https://reprint.example/news/3.html",
                "content": BODY_3,
                "published": "2023-12-04T09:00:00+08:00",
            },
        ],
        title="廉政法制网",
    )


def configure(d: Deployment, origin: Origin, receiver: WebhookReceiver) -> None:
    origin.add("/spp.xml", official_feed())
    origin.add("/reprint.atom", reprint_feed(), content_type="application/atom+xml")
    origin.add_file("/legacy.xml", GB2312_FEED, content_type="text/xml")  # no charset in the header
    origin.add_file("/pypy.xml", REAL_FEED, content_type="application/rss+xml")
    origin.fail("/down.xml", 500)
    d.write_config(
        source_toml("spp", "最高人民检察院", origin.url("/spp.xml"), priority=10)
        + source_toml("reprint", "廉政法制网", origin.url("/reprint.atom"))
        + source_toml("legacy", "ACN Newswire", origin.url("/legacy.xml"))
        + source_toml("pypy", "PyPy", origin.url("/pypy.xml"), tz="UTC")
        + source_toml("down", "Down", origin.url("/down.xml"))
        + channel_toml("news", "检察要闻", ["spp", "reprint", "legacy", "down"])
        + channel_toml("all", "Everything", ["*"], template="en", limit=500)
        + webhook_toml("downstream", receiver.url, ["news"])
    )


@contextmanager
def sqlalchemy_session(d: Deployment) -> Iterator[Session]:
    url = d.env.get("SYNDICATION_DATABASE_URL") or f"sqlite:///{d.root / 'data' / 'syndication.db'}"
    engine = make_engine(url)
    try:
        with Session(engine) as s, s.begin():
            yield s
    finally:
        engine.dispose()


def summary(stdout: str) -> dict[str, int]:
    m = re.search(
        r"sources polled: (\d+) \((\d+) failed\); new articles: (\d+); duplicates: (\d+); "
        r"deliveries sent: (\d+), failed: (\d+)",
        stdout,
    )
    assert m, stdout
    keys = ["polled", "failed", "new", "duplicates", "sent", "dead"]
    return dict(zip(keys, map(int, m.groups()), strict=True))


def parse(feed: bytes) -> feedparser.FeedParserDict:
    etree.fromstring(feed)  # well-formed XML
    parsed = feedparser.parse(feed)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def legacy_entry_count() -> int:
    return len(feedparser.parse(GB2312_FEED.read_bytes()).entries)


def test_once_end_to_end(
    database_url: str,
    deployment: Deployment,
    origin: Origin,
    receiver: WebhookReceiver,
    redis_url: str,
) -> None:
    d = deployment
    d.env.update(SYNDICATION_BROKER_URL=redis_url, SYNDICATION_DATABASE_URL=database_url)
    receiver.set_fail_first(2)
    configure(d, origin, receiver)

    first = d.run("run", "--once", "--timeout", "120")
    s = summary(first.stdout)
    legacy = legacy_entry_count()
    pypy = len(feedparser.parse(REAL_FEED.read_bytes()).entries)
    news_articles = 3 + legacy  # spp 2 + reprint's own 1 + the legacy feed
    assert s["polled"] == 5 and s["failed"] == 1, first.stdout
    assert s["duplicates"] == 2, first.stdout
    assert s["new"] == news_articles + pypy, first.stdout
    assert s["sent"] == news_articles and s["dead"] == 0, first.stdout
    assert "down: fetch: HTTP 500" in first.stderr

    rss = parse(d.run("feed", "news", "--format", "rss").stdout.encode())
    atom = parse(d.run("feed", "news", "--format", "atom").stdout.encode())
    for feed in (rss, atom):
        ids = [e.id for e in feed.entries]
        assert len(ids) == news_articles == len(set(ids))  # every entry exactly once
        links = Counter(e.link for e in feed.entries)
        assert links["https://www.spp.gov.cn/spp/zdgz/202312/t20231201_635358.shtml"] == 1
        for e in feed.entries:
            html = e.content[0].value if "content" in e else e.description
            assert "来源：" in html and "原文链接：" in html and "免责声明" in html, html
    by_link = {e.link: e for e in rss.entries}
    hubei = by_link["https://www.spp.gov.cn/spp/zdgz/202312/t20231201_635358.shtml"]
    assert hubei.title == "湖北：以高质量人才队伍建设助推检察工作现代化"  # the official source's version
    assert "发布时间：2023-12-01 08:30" in hubei.description  # naive time read in Beijing time
    assert "作者：戴小巍" in hubei.description and "来源：最高人民检察院" in hubei.description
    special = by_link["https://www.spp.gov.cn/spp/a/2.shtml"]
    assert "来源：检察日报" in special.description  # the item's own publisher wins over the source name

    json_feed = json.loads(d.run("feed", "news", "--format", "json").stdout)
    assert json_feed["version"] == "https://jsonfeed.org/version/1.1"
    assert [i["id"] for i in json_feed["items"]] == [e.id for e in rss.entries]  # same items, same order
    (hubei_json,) = [i for i in json_feed["items"] if i.get("url") == hubei.link]
    assert hubei_json["title"] == hubei.title
    assert hubei_json["content_html"].strip() == hubei.description.strip()  # the RSS item's body
    assert "原文链接：" in hubei_json["content_text"] and hubei_json["authors"] == [{"name": "戴小巍"}]
    assert hubei_json["date_published"] == "2023-12-01T00:30:00Z"  # 08:30 Beijing time
    assert [s["source_id"] for s in hubei_json["_syndication"]["also_at"]] == ["reprint"]
    assert any(
        "\u4e00" <= ch <= "\u9fff" for e in rss.entries for ch in e.title if e.link and "acn" in e.link
    )

    everything = parse(d.run("feed", "all", "--format", "atom").stdout.encode())
    assert len(everything.entries) == news_articles + pypy
    assert all("Disclaimer" in e.content[0].value for e in everything.entries)

    delivered = receiver.delivered()
    assert len(delivered) == news_articles
    assert len({a.webhook_id for a in delivered}) == news_articles  # each article exactly once
    assert all(a.signature_valid for a in receiver.attempts)
    for wid in {a.webhook_id for a in delivered}:
        tries = [a for a in receiver.attempts if a.webhook_id == wid]
        assert [a.status for a in tries] == [500, 500, 200]  # retried under the same id
        assert len({a.body for a in tries}) == 1
    payload = next(a.json for a in delivered if a.json and "635358" in str(a.json))
    assert payload["type"] == "article.published"
    data = payload["data"]
    assert data["provenance"]["publisher"] == "最高人民检察院"
    assert data["provenance"]["original_url"].endswith("t20231201_635358.shtml")
    assert [s["source_id"] for s in data["provenance"]["also_at"]] == ["reprint"]
    assert "原文链接" in data["attribution"]["text"]

    # A second run: conditional requests only, nothing new, nothing delivered again.
    origin.clear_log()
    attempts_before = len(receiver.attempts)
    second = d.run("run", "--once", "--timeout", "60")
    s2 = summary(second.stdout)
    assert (s2["new"], s2["duplicates"], s2["sent"], s2["dead"]) == (0, 0, 0, 0), second.stdout
    for path in ("/spp.xml", "/reprint.atom", "/legacy.xml", "/pypy.xml"):
        reqs = origin.requests_for(path)
        assert len(reqs) == 1 and reqs[0].headers.get("if-none-match"), path
        assert reqs[0].status == 304
        assert "syndication/" in reqs[0].headers["user-agent"]
    assert len(receiver.attempts) == attempts_before
    assert rss == parse(d.run("feed", "news", "--format", "rss").stdout.encode())


def test_embedded_defaults_need_no_redis_or_postgres(
    deployment: Deployment, origin: Origin, receiver: WebhookReceiver
) -> None:
    """The README's first command: no broker, no database configured."""
    d = deployment
    configure(d, origin, receiver)
    first = d.run("run", "--once", "--timeout", "120")
    s = summary(first.stdout)
    assert s["polled"] == 5 and s["failed"] == 1 and s["sent"] == 3 + legacy_entry_count()
    assert (d.root / "data" / "syndication.db").exists()
    assert not (d.root / "data" / "broker" / "redis.sock").exists()  # the embedded broker was stopped
    assert len(receiver.delivered()) == s["sent"]


def test_bad_sources_fail_alone(deployment: Deployment, origin: Origin, redis_url: str) -> None:
    d = deployment
    d.env.update(
        SYNDICATION_BROKER_URL=redis_url,
        SYNDICATION_FETCH_TIMEOUT="1",
        SYNDICATION_FETCH_TOTAL_TIMEOUT="2",
        SYNDICATION_FETCH_MAX_BYTES="200000",
    )
    origin.add("/good.xml", official_feed())
    origin.add(
        "/invalid.xml", b"<?xml version='1.0'?>\n<<<>>> not a feed &&& \x00\x01", content_type="text/xml"
    )
    origin.add(
        "/page.html",
        b"<!doctype html><html><head><title>Home</title></head><body><p>hi</p></body></html>",
        content_type="text/html; charset=utf-8",
    )
    origin.huge("/huge.xml", size=5_000_000, gzip=True)
    origin.slow("/slow.xml", delay=5)
    origin.add("/slow.xml", official_feed())
    origin.redirect("/loop-a.xml", origin.url("/loop-b.xml"))
    origin.redirect("/loop-b.xml", origin.url("/loop-a.xml"))
    origin.fail("/gone.xml", 404)
    origin.add("/empty.xml", b"", content_type="application/rss+xml")
    bad = {
        "invalid": "/invalid.xml",
        "page": "/page.html",
        "huge": "/huge.xml",
        "slow": "/slow.xml",
        "loop": "/loop-a.xml",
        "gone": "/gone.xml",
        "empty": "/empty.xml",
    }
    config = source_toml("good", "最高人民检察院", origin.url("/good.xml"))
    config += "".join(source_toml(sid, sid, origin.url(path)) for sid, path in bad.items())
    config += source_toml("refused", "refused", "http://127.0.0.1:9/feed.xml")  # nothing listens on port 9
    d.write_config(config + channel_toml("news", "News", ["*"]))

    out = d.run("run", "--once", "--timeout", "120")
    s = summary(out.stdout)
    assert s["polled"] == 9 and s["failed"] == 8 and s["new"] == 2, out.stdout + out.stderr
    states = d.run("sources").stdout
    expected = {
        "gone": "HTTP 404",
        "huge": "",
        "slow": "",
        "loop": "redirect",
        "page": "HTML",
        "invalid": "parse",
        "empty": "",
        "refused": "",
    }
    for sid, fragment in expected.items():
        block = re.search(rf"^{sid}\s.*?(?=^\S|\Z)", states, re.M | re.S)
        assert block and "error" in block.group(0) and "failures=1" in block.group(0), (sid, states)
        assert fragment.lower() in block.group(0).lower(), (sid, block.group(0))
    assert re.search(r"^good\s+ok", states, re.M), states
    rss = parse(d.run("feed", "news").stdout.encode())
    assert len(rss.entries) == 2


def test_dead_webhook_delays_only_its_own_deliveries(
    deployment: Deployment, origin: Origin, receiver: WebhookReceiver, redis_url: str
) -> None:
    d = deployment
    d.env.update(SYNDICATION_BROKER_URL=redis_url, SYNDICATION_WEBHOOK_MAX_ATTEMPTS="3")
    origin.add("/spp.xml", official_feed())
    with WebhookReceiver(None, fail_first=1000, fail_status=503) as down:
        d.write_config(
            source_toml("spp", "最高人民检察院", origin.url("/spp.xml"))
            + channel_toml("news", "News", ["spp"])
            + webhook_toml("down", down.url, ["news"])
            + webhook_toml("up", receiver.url, ["news"])
        )
        out = d.run("run", "--once", "--timeout", "120")
        s = summary(out.stdout)
        assert s["sent"] == 2 and s["dead"] == 2, out.stdout
        assert len(receiver.delivered()) == 2
        assert len(down.attempts) == 6  # 3 attempts for each of 2 articles, then dead
    dead = d.run("deliveries", "--status", "dead").stdout
    assert dead.count(" dead ") == 2 and "attempts=3" in dead and "last=503" in dead and "error: " in dead, (
        dead
    )
    again = d.run("run", "--once", "--timeout", "60")
    assert summary(again.stdout)["dead"] == 0  # dead letters stay dead, visible, not retried by a new run


def test_gzip_feed_from_corpus(deployment: Deployment, origin: Origin, redis_url: str) -> None:
    """A real crawled feed, served gzip-compressed."""
    d = deployment
    d.env.update(SYNDICATION_BROKER_URL=redis_url)
    files = sorted((CORPUS / "real" / "fastfeedparser" / "benchmark_data").glob("*.gz"))[:3]
    assert files
    config = ""
    expected = 0
    for i, f in enumerate(files):
        body = gzip.decompress(f.read_bytes())
        origin.add(
            f"/f{i}.xml",
            gzip.compress(body),
            headers={"Content-Encoding": "gzip"},
            content_type="application/xml",
        )
        expected += len({e.get("id") or e.get("link") for e in feedparser.parse(body).entries})
        config += source_toml(f"f{i}", f"Feed {i}", origin.url(f"/f{i}.xml"), tz="UTC")
    d.write_config(config + channel_toml("all", "All", ["*"], template="en", limit=1000))
    out = d.run("run", "--once", "--timeout", "120")
    s = summary(out.stdout)
    assert s["failed"] == 0, out.stdout + out.stderr
    assert 0 < s["new"] + s["duplicates"] <= expected


def test_webhooks_wait_for_every_source_and_name_the_original(
    deployment: Deployment, origin: Origin, receiver: WebhookReceiver, redis_url: str
) -> None:
    """The reprint answers first, the official source (higher priority) two seconds later: the
    webhook still credits the official source, because `--once` releases deliveries only after every
    poll is ingested."""
    d = deployment
    d.env.update(SYNDICATION_BROKER_URL=redis_url)
    origin.add("/spp.xml", official_feed())
    origin.slow("/spp.xml", delay=2)
    origin.add("/reprint.atom", reprint_feed(), content_type="application/atom+xml")
    d.write_config(
        source_toml("spp", "最高人民检察院", origin.url("/spp.xml"), priority=10)
        + source_toml("reprint", "廉政法制网", origin.url("/reprint.atom"))
        + channel_toml("news", "检察要闻", ["spp", "reprint"])
        + webhook_toml("downstream", receiver.url, ["news"])
    )
    out = d.run("run", "--once", "--timeout", "120")
    assert summary(out.stdout)["sent"] == 3
    by_url = {a.json["data"]["url"]: a.json["data"] for a in receiver.delivered() if a.json}
    hubei = by_url["https://www.spp.gov.cn/spp/zdgz/202312/t20231201_635358.shtml"]
    assert hubei["provenance"]["publisher"] == "最高人民检察院"
    assert hubei["title"] == "湖北：以高质量人才队伍建设助推检察工作现代化"


def test_a_later_run_finishes_what_an_earlier_one_left(
    deployment: Deployment, origin: Origin, redis_url: str
) -> None:
    """Run 1 cannot reach the webhook and gives up waiting; the broker then loses every message (a
    Redis restarted empty). Run 2 finds the pending deliveries in the database and sends them."""
    d = deployment
    d.env.update(SYNDICATION_BROKER_URL=redis_url, SYNDICATION_WEBHOOK_RETRY_BASE="60")
    origin.add("/spp.xml", official_feed())
    with WebhookReceiver(SECRET, fail_first=1) as flaky:
        d.write_config(
            source_toml("spp", "最高人民检察院", origin.url("/spp.xml"))
            + channel_toml("news", "检察要闻", ["spp"])
            + webhook_toml("downstream", flaky.url, ["news"])
        )
        first = d.run("run", "--once", "--timeout", "20")
        s1 = summary(first.stdout)
        assert s1["sent"] == 0 and "still retrying: 2" in first.stdout, first.stdout
        redis.Redis.from_url(redis_url).flushdb()
        with sqlalchemy_session(d) as s:  # make the retries due now
            s.execute(update(DeliveryRow).values(next_attempt_at=datetime.now(UTC)))
        second = d.run("run", "--once", "--timeout", "60")
        assert summary(second.stdout)["sent"] == 2, second.stdout
        assert len({a.webhook_id for a in flaky.delivered()}) == 2
