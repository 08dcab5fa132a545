"""Attachments end to end: feed enclosures and JSON Feed attachments parsed, normalized, stored (SQLite
and PostgreSQL), and published in RSS (<enclosure>), Atom (<link rel="enclosure">), JSON Feed
(attachments), the webhook payload and the attributed HTML/text of the channel templates."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import pytest
from lxml import etree
from sqlalchemy import select

from syndication import pipeline
from syndication.models import Attachment, ChannelConfig, RawItem, SourceConfig
from syndication.pages import raw_item
from syndication.parse.feed import parse_feed
from syndication.parse.listpage import ArticleLink
from syndication.parse.page import ExtractedArticle
from syndication.process.attachments import attachment, parse_length
from syndication.process.attribution import render_attribution
from syndication.process.normalize import MAX_ATTACHMENTS, normalize_item
from syndication.publish.feeds import render_atom, render_json, render_rss
from syndication.publish.webhooks import build_payload, encode_payload
from syndication.runtime import Runtime
from syndication.storage import repo
from syndication.storage.db import transaction
from syndication.storage.tables import ArticleRow, ChannelFeedRow, SightingRow, SourceRow
from tests.conftest import build_config
from tests.unit.test_attribution import SEED_BODY, SEED_TITLE, provenance
from tests.unit.test_publish_feeds import CHANNEL, SITE, UPDATED, make_item
from tests.unit.test_webhooks import EVENT_TIME, ITEM

URL = "https://www.example.gov.cn/feeds/news.xml"
ATOM_NS = {"a": "http://www.w3.org/2005/Atom"}
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "feeds"
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
PDF = Attachment("https://www.gov.cn/files/2024/名单.pdf", "附件1：名单.pdf", "application/pdf", 52431)
XLS = Attachment("https://www.gov.cn/files/2024/table.xls", None, None, None)


def rss(items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Site</title>'
        f"<link>https://www.example.gov.cn/</link>{items}</channel></rss>"
    ).encode()


def json_feed(items: list[dict[str, Any]]) -> bytes:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "政务", "items": items}
    return json.dumps(doc, ensure_ascii=False).encode()


# ---------------------------------------------------------------- parsing


def test_rss_enclosure_becomes_an_absolute_attachment_and_bad_ones_are_skipped() -> None:
    feed = parse_feed(
        rss(
            "<item><title>通知</title><link>https://www.example.gov.cn/a.html</link>"
            '<enclosure url="/files/名单.pdf" length="52431" type="application/pdf"/>'
            '<enclosure url="https://www.example.gov.cn/b.doc" length="about 3 MB"/>'  # garbage length
            '<enclosure length="10" type="application/pdf"/>'  # no url
            '<enclosure url="javascript:alert(1)" length="10" type="application/pdf"/>'
            '<enclosure url="ftp://www.example.gov.cn/c.zip" length="10" type="application/zip"/>'
            '<enclosure url="https://www.example.gov.cn/d.xls" length="-5" type="bogus"/>'
            '<enclosure url="/files/名单.pdf" length="1"/>'  # the same URL again
            "</item>"
        ),
        url=URL,
    )
    assert feed.items[0].attachments == (
        Attachment("https://www.example.gov.cn/files/名单.pdf", None, "application/pdf", 52431),
        Attachment("https://www.example.gov.cn/b.doc", None, "application/msword", None),
        Attachment("https://www.example.gov.cn/d.xls", None, "application/vnd.ms-excel", None),
    )


def test_atom_enclosure_links_keep_title_type_and_length() -> None:
    feed = parse_feed(
        b'<?xml version="1.0" encoding="utf-8"?>'
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://www.example.gov.cn/base/">'
        b"<title>t</title><id>urn:x</id><updated>2024-03-01T00:00:00Z</updated>"
        b"<entry><id>urn:e1</id><title>e</title><updated>2024-03-01T00:00:00Z</updated>"
        b'<link rel="alternate" href="https://www.example.gov.cn/a.html"/>'
        b'<link rel="enclosure" href="files/a.pdf" type="application/pdf" length="42" title="Annex 1"/>'
        b'<link rel="enclosure" href="https://www.example.gov.cn/b.xlsx"/>'
        b'<link rel="enclosure" href="data:text/plain,hi" type="text/plain"/>'
        b'<link rel="enclosure" type="application/pdf"/>'
        b'<link rel="related" href="https://www.example.gov.cn/related.pdf"/>'
        b"</entry></feed>",
        url=URL,
    )
    item = feed.items[0]
    assert item.url == "https://www.example.gov.cn/a.html"
    assert item.attachments == (
        Attachment("https://www.example.gov.cn/base/files/a.pdf", "Annex 1", "application/pdf", 42),
        # feedparser reports "text/html" for a link without a type: the file name tells instead
        Attachment(
            "https://www.example.gov.cn/b.xlsx",
            None,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            None,
        ),
    )


def test_json_feed_attachments_and_bad_ones_skipped() -> None:
    feed = parse_feed(
        json_feed(
            [
                {
                    "id": "1",
                    "url": "https://www.example.gov.cn/a.html",
                    "content_text": "正文",
                    "attachments": [
                        {
                            "url": "files/a.pdf",
                            "mime_type": "application/pdf",
                            "title": "附件1",
                            "size_in_bytes": 7,
                        },
                        {
                            "url": "https://www.example.gov.cn/b.mp3",
                            "mime_type": "audio/mpeg",
                            "size_in_bytes": 1.5,
                        },
                        {"url": "https://www.example.gov.cn/c.zip", "size_in_bytes": True},
                        {"url": "https://www.example.gov.cn/d.doc", "mime_type": 7, "size_in_bytes": "12"},
                        {"mime_type": "application/pdf"},
                        {"url": 12, "mime_type": "application/pdf"},
                        {"url": "mailto:office@example.gov.cn", "mime_type": "text/plain"},
                        "https://www.example.gov.cn/not-an-object.pdf",
                        None,
                    ],
                },
                {"id": "2", "content_text": "x", "attachments": "not a list"},
                {"id": "3", "content_text": "y", "attachments": [{"url": "http://[::1/x.pdf"}]},
            ]
        ),
        url="https://www.example.gov.cn/feeds/feed.json",
    )
    first, second, third = feed.items
    assert first.attachments == (
        Attachment("https://www.example.gov.cn/feeds/files/a.pdf", "附件1", "application/pdf", 7),
        Attachment("https://www.example.gov.cn/b.mp3", None, "audio/mpeg", None),  # 1.5 bytes: no size
        Attachment("https://www.example.gov.cn/c.zip", None, "application/zip", None),
        Attachment("https://www.example.gov.cn/d.doc", None, "application/msword", 12),
    )
    assert second.attachments == () and third.attachments == ()


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared/corpus is not beside the repo")
def test_real_podcast_feed_and_json_feed_example() -> None:
    podcast = parse_feed(
        (CORPUS / "real/huginn/spec/data_fixtures/podcast.rss").read_bytes(), url="http://example.com/"
    )
    assert [i.attachments for i in podcast.items][:2] == [
        (
            Attachment(
                "http://example.com/podcasts/everything/AllAboutEverythingEpisode3.m4a",
                None,
                "audio/x-m4a",
                8727310,
            ),
        ),
        (
            Attachment(
                "http://example.com/podcasts/everything/AllAboutEverythingEpisode2.mp4",
                None,
                "video/mp4",
                5650889,
            ),
        ),
    ]
    example = parse_feed(
        (CORPUS / "feedparser-conformance/tests/json/example.json").read_bytes(),
        url="https://example.org/feed.json",
    )
    found = [a for i in example.items for a in i.attachments]
    assert Attachment("https://example.org/second-item-show.mp4", None, "video/mp4", 12000000) in found


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), ("  123 ", 123), (5.0, 5), ("", None), ("-1", None), (-1, None), ("1e3", None),
     ("12abc", None), (True, None), (None, None), (2**63, None), ("9" * 5000, None), ([1], None)],
)  # fmt: skip
def test_parse_length(value: object, expected: int | None) -> None:
    assert parse_length(value) == expected


def test_vetting_never_raises_on_hostile_values() -> None:
    for url in (None, 3, "", "  ", "http://", "http://exa mple.com/\x00a.pdf", "http://h:99999/a.pdf", "//x"):
        assert attachment(url, base=None) is None
    assert attachment("a.pdf", base="http://h/dir/") == Attachment(
        "http://h/dir/a.pdf", None, "application/pdf"
    )
    long = attachment(
        "http://h/a.pdf#page=2", base=None, title="附件" * 400, mime_type="Application/PDF; x=1"
    )
    assert long is not None and long.url == "http://h/a.pdf" and long.mime_type == "application/pdf"
    assert long.title is not None and len(long.title) == 300


# ---------------------------------------------------------------- RawItem through the broker, pages


def test_raw_item_json_round_trip_keeps_attachments() -> None:
    raw = RawItem(guid="1", title="t", attachments=(PDF, XLS))
    wire = json.loads(json.dumps(raw.to_json()))  # what Celery carries
    assert wire["attachments"][0] == {
        "url": PDF.url,
        "title": "附件1：名单.pdf",
        "mime_type": "application/pdf",
        "length": 52431,
    }
    assert RawItem.from_json(wire) == raw
    wire["attachments"] += [{"title": "no url"}, "junk", {"url": "http://h/x.pdf", "extra": 1}]
    assert RawItem.from_json(wire).attachments == (PDF, XLS, Attachment("http://h/x.pdf"))
    assert RawItem.from_json({"title": "old poll"}).attachments == ()


def test_page_article_attachments_go_into_the_raw_item() -> None:
    article = ExtractedArticle(
        title="关于公布名单的通知",
        url="https://www.gov.cn/a.html",
        published=None,
        source=None,
        author=None,
        editor=None,
        category=None,
        content_html="<p>详见附件</p>",
        content_text="详见附件",
        rights_notice=None,
        attachments=(PDF,),
    )
    link = ArticleLink(url="https://www.gov.cn/a.html", title="通知", date=None)
    assert raw_item(link, article).attachments == (PDF,)


# ---------------------------------------------------------------- normalize

SOURCE = SourceConfig(id="gov", name="政府网", kind="feed", url=URL, timezone="Asia/Shanghai")


def test_normalize_dedupes_in_order_resolves_and_caps() -> None:
    raws = (
        Attachment("b.pdf", "  附件2：\n 名单.pdf ", "application/pdf", 10),
        Attachment("https://www.example.gov.cn/files/a.doc#p2", "<b>附件1</b> &amp; 说明"),
        Attachment("/files/b.pdf", "again", "application/pdf", 99),  # same URL once resolved
        Attachment("javascript:alert(1)", "x"),
        Attachment("https://www.example.gov.cn/c.zip\x00", "nul"),
        Attachment("https://www.example.gov.cn/d.xls", None, "not a type", -3),
        # one file spelt twice (a page's raw link, and the same link in its sanitized body)
        Attachment("https://www.example.gov.cn/files/%E5%90%8D%E5%8D%95.pdf", "附件3"),
        Attachment("https://WWW.example.gov.cn/files/名单.pdf", "附件3 again"),
    )
    item = normalize_item(
        RawItem(url="https://www.example.gov.cn/files/notice.html", title="通知", attachments=raws),
        SOURCE,
        base_url=URL,
        now=T0,
    )
    assert item.attachments == (
        Attachment("https://www.example.gov.cn/files/b.pdf", "附件2： 名单.pdf", "application/pdf", 10),
        Attachment("https://www.example.gov.cn/files/a.doc", "附件1 & 说明", "application/msword", None),
        Attachment("https://www.example.gov.cn/d.xls", None, "application/vnd.ms-excel", None),
        Attachment(
            "https://www.example.gov.cn/files/%E5%90%8D%E5%8D%95.pdf", "附件3", "application/pdf", None
        ),
    )
    many = tuple(
        Attachment(f"https://www.example.gov.cn/f{n}.pdf", None, "application/pdf") for n in range(70)
    )
    capped = normalize_item(RawItem(title="t", attachments=many), SOURCE, base_url=URL, now=T0)
    assert capped.attachments == many[:MAX_ATTACHMENTS]


def test_attachments_do_not_change_the_content_hash() -> None:
    base = RawItem(url="https://www.example.gov.cn/a.html", title="通知", content_html="<p>详见附件</p>")
    plain = normalize_item(base, SOURCE, base_url=URL, now=T0)
    with_file = normalize_item(replace(base, attachments=(PDF,)), SOURCE, base_url=URL, now=T0)
    assert with_file.attachments == (PDF,) and plain.attachments == ()
    assert with_file.content_hash == plain.content_hash


# ---------------------------------------------------------------- storage, SQLite and PostgreSQL

BODY = "<p>" + "国务院办公厅关于公布第一批名单的通知，名单详见附件，请各地区各部门认真贯彻执行。" * 8 + "</p>"


def _ingest(rt: Runtime, source_id: str, raws: list[RawItem], now: datetime) -> repo.IngestResult:
    source = rt.config.source(source_id)
    assert source is not None
    items = [normalize_item(r, source, base_url=source.url, now=now) for r in raws]
    with transaction(rt.sessions, serial=True) as s:
        return repo.ingest_items(s, s.get_one(SourceRow, source_id), items, rt.config, now)


def _published(rt: Runtime) -> list[Any]:
    channel = rt.config.channel("all")
    assert channel is not None
    with transaction(rt.sessions, write=False) as s:
        rows = list(s.scalars(select(ArticleRow).order_by(ArticleRow.id)))
        return pipeline.published_items(s, rt.config, channel, rows)


def test_attachments_round_trip_through_storage_and_an_added_one_updates_the_article(
    make_runtime: Any,
) -> None:
    sources = [
        SourceConfig(id=sid, name=name, kind="feed", url=f"http://127.0.0.1:9/{sid}.xml", priority=prio)
        for sid, name, prio in (("gov", "政府网", 10), ("mirror", "转载网", 0))
    ]
    rt = make_runtime(build_config(sources, [ChannelConfig(id="all", title="All", sources=("*",))]))
    entry = RawItem(guid="n1", url="https://www.gov.cn/n1.html", title="通知", content_html=BODY)
    first = _ingest(rt, "gov", [replace(entry, attachments=(PDF,))], T0)
    assert len(first.new) == 1

    (published,) = _published(rt)
    assert published.attachments == (PDF,)  # unicode URL, title, type and length read back intact
    assert "附件1：名单.pdf" in published.attribution_html and PDF.url in published.attribution_html

    # The notice gains a second file: the same article is updated, not a new one.
    later = T0.replace(hour=9)
    second = _ingest(rt, "gov", [replace(entry, attachments=(PDF, XLS))], later)
    assert (second.new, second.updated) == ([], 1)
    (published,) = _published(rt)
    xls = Attachment(XLS.url, None, "application/vnd.ms-excel", None)  # type guessed in normalize
    assert published.attachments == (PDF, xls)
    with transaction(rt.sessions, write=False) as s:
        article = s.scalars(select(ArticleRow)).one()
        assert article.changed_at == later
        assert s.scalars(select(SightingRow.attachments)).one() == [PDF.to_json(), xls.to_json()]

    # A reprint of the same body without the files is still the same article (the hash ignores them).
    third = _ingest(
        rt,
        "mirror",
        [RawItem(guid="m1", url="https://mirror.example/1", title="转", content_html=BODY)],
        later,
    )
    assert (third.new, third.duplicates) == ([], 1)
    (published,) = _published(rt)
    assert published.attachments == (PDF, xls)  # the original (priority 10) keeps its files

    # ... and the rendered feeds carry them.
    assert pipeline.render(rt, "all", now=lambda: later)
    with transaction(rt.sessions, write=False) as s:
        row = s.get_one(ChannelFeedRow, "all")
        rss_bytes, atom_bytes, json_bytes = row.rss, row.atom, row.json
    assert rss_bytes is not None and atom_bytes is not None and json_bytes is not None
    assert [e.href for e in feedparser.parse(rss_bytes).entries[0].enclosures] == [PDF.url]
    assert [e.href for e in feedparser.parse(atom_bytes).entries[0].enclosures] == [PDF.url, XLS.url]
    assert [a["url"] for a in json.loads(json_bytes)["items"][0]["attachments"]] == [PDF.url, XLS.url]


# ---------------------------------------------------------------- RSS and Atom


def _render(fmt: str, attachments: tuple[Attachment, ...]) -> bytes:
    item = replace(make_item(1, 1), attachments=attachments)
    render = {"rss": render_rss, "atom": render_atom, "json": render_json}[fmt]
    return render(CHANNEL, [item, make_item(2, 2)], site_url=SITE, feed_url=SITE + "f", updated=UPDATED)


def test_rss_has_one_enclosure_the_first_attachment() -> None:
    body = _render("rss", (PDF, XLS))
    entries = {e.guid: e for e in feedparser.parse(body).entries}
    assert entries["urn:syndication:article:1"].enclosures == [
        {"href": PDF.url, "length": "52431", "type": "application/pdf"}
    ]
    assert entries["urn:syndication:article:2"].enclosures == []
    unknown = feedparser.parse(_render("rss", (XLS, PDF))).entries[1]
    assert unknown.enclosures == [{"href": XLS.url, "length": "0", "type": "application/octet-stream"}]
    root = etree.fromstring(body)
    assert len(root.findall("./channel/item/enclosure")) == 1


def test_atom_has_an_enclosure_link_for_each_attachment() -> None:
    body = _render("atom", (PDF, XLS))
    entry = feedparser.parse(body).entries[1]
    assert entry.id == "urn:syndication:article:1"
    assert [(e.href, e.get("type"), e.get("length"), e.get("title")) for e in entry.enclosures] == [
        (PDF.url, "application/pdf", "52431", "附件1：名单.pdf"),
        (XLS.url, "text/html", None, None),  # feedparser's default for a link without a type
    ]
    assert entry.link == make_item(1, 1).link  # the alternate link is still the original
    root = etree.fromstring(body)
    links = root.xpath(
        "//a:entry[a:id='urn:syndication:article:1']/a:link[@rel='enclosure']", namespaces=ATOM_NS
    )
    assert [dict(link.attrib) for link in links] == [
        {
            "rel": "enclosure",
            "href": PDF.url,
            "type": "application/pdf",
            "length": "52431",
            "title": "附件1：名单.pdf",
        },
        {"rel": "enclosure", "href": XLS.url},  # unknown type and length are left out (RFC 4287)
    ]


def test_json_feed_lists_each_attachment_with_a_mime_type() -> None:
    items = json.loads(_render("json", (PDF, XLS)))["items"]
    by_id = {i["id"]: i for i in items}
    assert by_id["urn:syndication:article:1"]["attachments"] == [
        {"url": PDF.url, "title": "附件1：名单.pdf", "mime_type": "application/pdf", "size_in_bytes": 52431},
        # mime_type is required by JSON Feed 1.1: unknown -> application/octet-stream; the rest left out
        {"url": XLS.url, "mime_type": "application/octet-stream"},
    ]
    assert "attachments" not in by_id["urn:syndication:article:2"]
    empty_title = Attachment(XLS.url, "", "application/vnd.ms-excel", 0)
    (att,) = json.loads(_render("json", (empty_title,)))["items"][1]["attachments"]
    assert att == {"url": XLS.url, "mime_type": "application/vnd.ms-excel", "size_in_bytes": 0}


# ---------------------------------------------------------------- webhook payload


def test_webhook_payload_lists_attachments() -> None:
    item = replace(ITEM, attachments=(PDF, XLS))
    body = encode_payload(build_payload(item, channel_ids=["news"], timestamp=EVENT_TIME))
    assert json.loads(body)["data"]["attachments"] == [
        {"url": PDF.url, "title": "附件1：名单.pdf", "mime_type": "application/pdf", "size_in_bytes": 52431},
        {"url": XLS.url, "title": None, "mime_type": None, "size_in_bytes": None},
    ]


# ---------------------------------------------------------------- channel templates


def _attribution(template: str, attachments: tuple[Attachment, ...]) -> tuple[str, str]:
    return render_attribution(
        title=SEED_TITLE,
        body_html=SEED_BODY,
        provenance=provenance(),
        template=template,
        disclaimer=None,
        attachments=attachments,
    )


@pytest.mark.parametrize(("template", "label"), [("zh", "附件："), ("en", "Attachments:")])
def test_templates_list_attachments_after_the_body(template: str, label: str) -> None:
    html, text = _attribution(template, (PDF, XLS))
    doc = lxml.html.fromstring(html)
    block = doc.xpath("//div[@class='syndication-attachments']")[0]
    assert block.xpath("./p")[0].text_content() == label
    assert [(a.get("href"), a.text_content()) for a in block.xpath(".//a")] == [
        (PDF.url, "附件1：名单.pdf"),
        (XLS.url, "table.xls"),  # no title: the file name
    ]
    order = [d.get("class") for d in doc.xpath("./div")]
    assert order.index("syndication-body") < order.index("syndication-attachments")
    assert order.index("syndication-attachments") < order.index("syndication-attribution syndication-footer")
    lines = text.splitlines()
    at = lines.index(label)
    assert PDF.url in lines[at + 1] and "附件1：名单.pdf" in lines[at + 1]
    assert XLS.url in lines[at + 2] and "table.xls" in lines[at + 2]
    assert at > next(i for i, line in enumerate(lines) if "湖北" in line)  # after the body


@pytest.mark.parametrize("template", ["zh", "en"])
def test_templates_without_attachments_have_no_section(template: str) -> None:
    html, text = _attribution(template, ())
    assert "syndication-attachments" not in html
    assert "附件：" not in text and "Attachments:" not in text


def test_template_escapes_titles_and_drops_unsafe_urls() -> None:
    hostile = (
        Attachment("https://www.gov.cn/a.pdf?x=1&y=2", '<script>alert(1)</script>"名单'),
        Attachment("javascript:alert(1)", "click"),
        Attachment("data:text/html,<b>x</b>", "data"),
    )
    html, text = _attribution("zh", hostile)
    doc = lxml.html.fromstring(html)
    assert not doc.xpath("//script")
    links = doc.xpath("//div[@class='syndication-attachments']//a")
    assert [(a.get("href"), a.text_content()) for a in links] == [
        ("https://www.gov.cn/a.pdf?x=1&y=2", '<script>alert(1)</script>"名单')
    ]
    assert "&lt;script&gt;" in html and "javascript:" not in html and "data:text" not in html
    assert "javascript:" not in text


@pytest.mark.parametrize(
    ("extracted", "listed", "title"),
    [
        ("关于公布名单的通知", "关于公布名单...", "关于公布名单的通知"),  # the list cuts titles short
        ("新闻动态", "2019年中国人文地理学术年会在重庆成功举行", "2019年中国人文地理学术年会在重庆成功举行"),
        (None, "关于公布名单的通知", "关于公布名单的通知"),
        ("通知", "", "通知"),
    ],
)
def test_page_item_title_from_the_article_unless_it_is_a_column_name(extracted, listed, title) -> None:
    article = ExtractedArticle(
        title=extracted, url="https://www.gov.cn/a.html", published=None, source=None, author=None,
        editor=None, category=None, content_html="<p>正文</p>", content_text="正文", rights_notice=None,
    )  # fmt: skip
    link = ArticleLink(url="https://www.gov.cn/a.html", title=listed, date=None)
    assert raw_item(link, article).title == title


def test_templates_do_not_list_a_file_the_body_already_links() -> None:
    from syndication.models import Provenance
    from syndication.process.attribution import render_attribution

    prov = Provenance(
        original_url="https://www.gov.cn/a.html", publisher="国务院", author=None, published_at=None,
        source_id="gov", source_name="中国政府网",
    )  # fmt: skip
    linked = Attachment("https://www.gov.cn/files/名单.pdf", "1.名单.pdf", "application/pdf")
    other = Attachment("https://www.gov.cn/files/表格.xlsx", "报名表", None)
    body = '<p>附件：<a href="https://www.gov.cn/files/%E5%90%8D%E5%8D%95.pdf">1.名单.pdf</a></p>'
    html, text = render_attribution(
        title="通知",
        body_html=body,
        provenance=prov,
        template="zh",
        disclaimer=None,
        attachments=(linked, other),
    )
    assert html.count("1.名单.pdf") == 1  # only the body's own link
    assert "报名表" in html and "报名表" in text and text.count("1.名单.pdf") == 1
    query = Attachment("https://www.gov.cn/down.jsp?id=1&name=a.pdf", "a.pdf", None)
    html, _ = render_attribution(
        title="通知", body_html='<p><a href="https://www.gov.cn/down.jsp?id=1&amp;name=a.pdf">a.pdf</a></p>',
        provenance=prov, template="zh", disclaimer=None, attachments=(query,),
    )  # fmt: skip
    assert html.count(">a.pdf<") == 1  # &amp; in the body's href is the same link
