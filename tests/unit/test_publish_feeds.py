"""publish.feeds: RSS/Atom rendering, read back with feedparser and lxml; JSON Feed 1.1, read back with
json and checked against the 1.1 spec's structure."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import dateutil.tz
import feedparser
import pytest
from lxml import etree

from syndication.models import ChannelConfig, Provenance, PublishedItem, Sighting
from syndication.publish.feeds import (
    FEED_MEDIA_TYPES,
    PROVENANCE_NS,
    render_atom,
    render_feed,
    render_json,
    render_rss,
)
from syndication.publish.webhooks import build_payload

BEIJING = timezone(timedelta(hours=8))
SITE = "http://127.0.0.1:8000/"
DISCLAIMER = "[免责声明] 本文来源于网络转载,仅供学习交流使用,不构成商业目的。版权归原作者所有。"
UPDATED = datetime(2023, 12, 5, 12, 0, tzinfo=UTC)
NS = {"syn": PROVENANCE_NS, "a": "http://www.w3.org/2005/Atom", "dc": "http://purl.org/dc/elements/1.1/"}


def make_item(
    article_id: int,
    day: int,
    *,
    title: str | None = None,
    author: str | None = "戴小巍",
    also_at: tuple[Sighting, ...] = (),
) -> PublishedItem:
    url = f"https://www.spp.gov.cn/spp/zdgz/202312/t202312{day:02d}_{article_id}.shtml"
    title = title if title is not None else f"湖北:以高质量人才队伍建设助推检察工作现代化 {article_id}"
    body = f"<p>近日,湖北省鄂州市梁子湖区检察院迎来一批“特别的老师”。第{article_id}篇。</p>"
    attribution = (
        f"<h1>{title}</h1><p>发布时间:2023-12-{day:02d} 来源:中华人民共和国最高人民检察院 作者:{author or '佚名'}</p>"
        f'{body}<p>原文链接:<a href="{url}">{url}</a></p><p>{DISCLAIMER}</p>'
    )
    published = datetime(2023, 12, day, 8, 30, tzinfo=BEIJING)
    return PublishedItem(
        article_id=article_id,
        guid=f"urn:syndication:article:{article_id}",
        title=title,
        link=url,
        content_html=body,
        content_text=body,
        summary=f"摘要{article_id}",
        categories=("检察", "人才队伍"),
        published_at=published,
        updated_at=published + timedelta(hours=1),
        provenance=Provenance(
            original_url=url,
            publisher="中华人民共和国最高人民检察院",
            author=author,
            published_at=published,
            source_id="spp",
            source_name="最高人民检察院",
            also_at=also_at,
        ),
        attribution_html=attribution,
        attribution_text=attribution,
    )


SIGHTINGS = (
    Sighting("lzfzw", "廉政法制网", "https://www.lzfzwl.org.cn/a/1.html", datetime(2023, 12, 3, tzinfo=UTC)),
    Sighting(
        "hbjc",
        "湖北检察",
        None,
        datetime(2023, 12, 4, tzinfo=UTC),
        published_at=datetime(2023, 12, 2, tzinfo=UTC),
    ),
)
ITEMS = [
    make_item(10, 1, also_at=SIGHTINGS),
    make_item(30, 3, author=None),
    make_item(20, 2),
]  # deliberately not in order
CHANNEL = ChannelConfig(id="news", title="检察新闻", sources=("*",), description="最高检转载")


def render(fmt: str, items: list[PublishedItem] = ITEMS, channel: ChannelConfig = CHANNEL) -> bytes:
    return render_feed(
        fmt, channel, items, site_url=SITE, feed_url=f"{SITE}feeds/news.{fmt}", updated=UPDATED
    )


def parse(data: bytes) -> feedparser.FeedParserDict:
    d = feedparser.parse(data)
    assert d.bozo == 0, d.get("bozo_exception")
    etree.fromstring(data)  # and lxml, strictly (raises on any well-formedness error)
    return d


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_entries_newest_first_with_ids_links_and_times(fmt: str) -> None:
    d = parse(render(fmt))
    assert [e.id for e in d.entries] == [f"urn:syndication:article:{n}" for n in (30, 20, 10)]
    assert [e.link for e in d.entries] == [i.link for i in sorted(ITEMS, key=lambda i: -i.article_id)]
    first = d.entries[0]
    assert first.title == "湖北:以高质量人才队伍建设助推检察工作现代化 30"
    assert first.published_parsed[:5] == (2023, 12, 3, 0, 30)  # 08:30 Beijing = 00:30 UTC
    if fmt == "atom":
        assert first.updated_parsed[:5] == (2023, 12, 3, 1, 30)


def test_ties_on_published_at_break_by_article_id_desc() -> None:
    same = [make_item(5, 2), make_item(7, 2), make_item(6, 2)]
    d = parse(render("atom", same))
    assert [e.id for e in d.entries] == [f"urn:syndication:article:{n}" for n in (7, 6, 5)]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_limit_keeps_the_newest(fmt: str) -> None:
    d = parse(render(fmt, channel=replace(CHANNEL, limit=2)))
    assert [e.id for e in d.entries] == ["urn:syndication:article:30", "urn:syndication:article:20"]


def test_rss_guid_is_not_a_permalink() -> None:
    root = etree.fromstring(render("rss"))
    guids = root.findall("channel/item/guid")
    assert len(guids) == 3
    assert {g.get("isPermaLink") for g in guids} == {"false"}


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_content_is_the_attributed_item(fmt: str) -> None:
    data = render(fmt)
    d = parse(data)
    for entry in d.entries:
        html = entry.content[0].value if fmt == "atom" else entry.description
        assert "原文链接" in html
        assert "免责声明" in html
        assert "梁子湖区检察院" in html
        assert "https://www.spp.gov.cn/spp/zdgz/" in html
    # Chinese is carried as UTF-8, not as character references
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert "免责声明".encode() in data
    assert b"&#" not in data


def test_atom_content_type_and_summary() -> None:
    root = etree.fromstring(render("atom"))
    entry = root.find("a:entry", NS)
    assert entry is not None
    content = entry.find("a:content", NS)
    assert content is not None and content.get("type") == "html"
    assert entry.findtext("a:summary", namespaces=NS) == "摘要30"


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_author_publisher_source_and_categories(fmt: str) -> None:
    d = parse(render(fmt))
    by_id = {e.id: e for e in d.entries}
    known = by_id["urn:syndication:article:20"]
    unknown = by_id["urn:syndication:article:30"]
    assert known.author == "戴小巍"
    assert unknown.author == "佚名"  # as the zh template renders an unknown author
    assert known.publisher == "中华人民共和国最高人民检察院"
    assert known.source.title == "中华人民共和国最高人民检察院"
    assert known.source.get("href", known.source.get("link")) == known.link
    assert [t.term for t in known.tags] == ["检察", "人才队伍"]


def test_english_template_language_and_anonymous() -> None:
    item = replace(make_item(1, 1, author=None), template="en")
    channel = replace(CHANNEL, template="en")
    rss = parse(render("rss", [item], channel))
    atom = parse(render("atom", [item], channel))
    assert rss.feed.language == "en"
    assert atom.entries[0].author == "Anonymous"
    assert parse(render("rss")).feed.language == "zh-CN"
    assert etree.fromstring(render("atom")).get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-CN"


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_provenance_element_is_machine_readable(fmt: str) -> None:
    root = etree.fromstring(render(fmt))
    provs = root.findall(".//syn:provenance", NS)
    assert len(provs) == 3
    by_source = {}
    for prov in provs:
        by_source[prov.findtext("syn:original_url", namespaces=NS)] = prov
    oldest = by_source[ITEMS[0].link]
    assert oldest.findtext("syn:publisher", namespaces=NS) == "中华人民共和国最高人民检察院"
    assert oldest.findtext("syn:author", namespaces=NS) == "戴小巍"
    assert oldest.findtext("syn:published_at", namespaces=NS) == "2023-12-01T00:30:00Z"
    assert oldest.findtext("syn:source_id", namespaces=NS) == "spp"
    assert oldest.findtext("syn:source_name", namespaces=NS) == "最高人民检察院"
    also = oldest.findall("syn:also_at", NS)
    assert [dict(a.attrib) for a in also] == [
        {
            "source_id": "lzfzw",
            "source_name": "廉政法制网",
            "url": "https://www.lzfzwl.org.cn/a/1.html",
            "seen_at": "2023-12-03T00:00:00Z",
        },
        {
            "source_id": "hbjc",
            "source_name": "湖北检察",
            "seen_at": "2023-12-04T00:00:00Z",
            "published_at": "2023-12-02T00:00:00Z",
        },
    ]
    # an unknown author stays unknown in the machine-readable record
    anonymous = by_source[ITEMS[1].link]
    assert anonymous.find("syn:author", NS) is None


def test_channel_metadata() -> None:
    rss = parse(render("rss"))
    assert rss.feed.title == "检察新闻"
    assert rss.feed.subtitle == "最高检转载"
    assert rss.feed.link == SITE
    assert rss.feed.generator == "syndication"
    assert rss.feed.updated_parsed[:6] == (2023, 12, 5, 12, 0, 0)
    self_links = [link.href for link in rss.feed.links if link.rel == "self"]
    assert self_links == [f"{SITE}feeds/news.rss"]

    atom = parse(render("atom"))
    assert atom.feed.id == f"{SITE}feeds/news.atom"
    assert atom.feed.updated_parsed[:6] == (2023, 12, 5, 12, 0, 0)
    assert {(link.rel, link.href) for link in atom.feed.links} == {
        ("self", f"{SITE}feeds/news.atom"),
        ("alternate", SITE),
    }


def test_description_falls_back_to_title() -> None:
    d = parse(render("rss", channel=replace(CHANNEL, description="")))
    assert d.feed.subtitle == "检察新闻"


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_rendering_is_deterministic_and_reads_no_clock(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # feedgen stamps datetime.now(dateutil.tz.tzutc()) into new feeds and entries; give its "now" a
    # different zone each time, so that any default left in the output changes the bytes.
    monkeypatch.setattr(dateutil.tz, "tzutc", lambda: timezone(timedelta(hours=3)))
    first = render(fmt)
    monkeypatch.setattr(dateutil.tz, "tzutc", lambda: timezone(timedelta(hours=-7)))
    second = render(fmt)
    assert first == second
    assert b"+03" not in first and b"-07" not in first
    assert render(fmt, list(reversed(ITEMS))) == first  # input order does not matter


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_empty_channel_is_a_valid_feed(fmt: str) -> None:
    d = parse(render(fmt, []))
    assert d.entries == []
    assert d.feed.title == "检察新闻"
    assert d.version == ("rss20" if fmt == "rss" else "atom10")


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_hostile_text_is_escaped(fmt: str) -> None:
    hostile = '<script>alert("x")</script> & ]]> 标题'
    data = render(fmt, [make_item(1, 1, title=hostile)])
    assert b"<script>" not in data
    assert b"&lt;script&gt;" in data
    d = parse(data)
    assert len(d.entries) == 1
    root = etree.fromstring(data)
    titles = root.findall(".//item/title") if fmt == "rss" else root.findall("a:entry/a:title", NS)
    assert [t.text for t in titles] == [hostile]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_characters_xml_cannot_carry_are_dropped(fmt: str) -> None:
    item = make_item(1, 1, title="标\x00题\x1b\ufffe")
    item = replace(item, attribution_html=item.attribution_html + "\x08", categories=("a\x0bb",))
    d = parse(render(fmt, [item]))
    assert d.entries[0].title == "标题"
    assert [t.term for t in d.entries[0].tags] == ["ab"]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_empty_title_gets_a_placeholder(fmt: str) -> None:
    d = parse(render(fmt, [make_item(1, 1, title="  ")]))
    assert d.entries[0].title == "（无标题）"


def test_item_without_link_still_renders() -> None:
    item = replace(make_item(1, 1), link=None)
    item = replace(item, provenance=replace(item.provenance, original_url=None))
    for fmt in ("rss", "atom"):
        d = parse(render(fmt, [item]))
        assert d.entries[0].id == "urn:syndication:article:1"
        assert "source" not in d.entries[0]


def test_render_rss_and_render_atom_match_render_feed() -> None:
    rss = render_rss(CHANNEL, ITEMS, site_url=SITE, feed_url=f"{SITE}feeds/news.rss", updated=UPDATED)
    atom = render_atom(CHANNEL, ITEMS, site_url=SITE, feed_url=f"{SITE}feeds/news.atom", updated=UPDATED)
    assert rss == render("rss")
    assert atom == render("atom")


def test_unknown_format_and_naive_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown feed format 'xml'"):
        render("xml")
    with pytest.raises(ValueError, match="tz-aware"):
        render_feed("rss", CHANNEL, [], site_url=SITE, feed_url=SITE, updated=datetime(2023, 12, 5))
    naive = replace(make_item(1, 1), published_at=datetime(2023, 12, 1))
    with pytest.raises(ValueError, match="tz-aware"):
        render("atom", [naive])


def test_media_types() -> None:
    assert FEED_MEDIA_TYPES == {
        "rss": "application/rss+xml; charset=utf-8",
        "atom": "application/atom+xml; charset=utf-8",
        "json": "application/feed+json; charset=utf-8",
    }
    assert parse(render("rss")).version == "rss20"
    assert parse(render("atom")).version == "atom10"
    assert json.loads(render("json"))["version"] == "https://jsonfeed.org/version/1.1"


# ---------------------------------------------------------------- JSON Feed 1.1

# RFC 3339 date-time: full-date "T" full-time, where the offset (Z or +hh:mm / -hh:mm) is required
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
FEED_KEYS = {
    "version": str,
    "title": str,
    "home_page_url": str,
    "feed_url": str,
    "description": str,
    "user_comment": str,
    "next_url": str,
    "icon": str,
    "favicon": str,
    "authors": list,
    "language": str,
    "expired": bool,
    "hubs": list,
    "items": list,
}
ITEM_KEYS = {
    "id": str,
    "url": str,
    "external_url": str,
    "title": str,
    "content_html": str,
    "content_text": str,
    "summary": str,
    "image": str,
    "banner_image": str,
    "date_published": str,
    "date_modified": str,
    "authors": list,
    "tags": list,
    "language": str,
    "attachments": list,
}
ATTACHMENT_KEYS = {
    "url": str,
    "mime_type": str,
    "title": str,
    "size_in_bytes": int,
    "duration_in_seconds": int,
}


def _check_keys(obj: dict[str, Any], known: dict[str, type], where: str) -> None:
    for key, value in obj.items():
        if key.startswith("_"):  # an extension: "_" then a letter, and an object
            assert re.fullmatch(r"_[A-Za-z]\w*", key) and isinstance(value, dict), (where, key)
            continue
        assert key in known, f"{where}: {key!r} is not a JSON Feed 1.1 key"
        expected = known[key]
        assert isinstance(value, expected), (where, key, value)
        assert expected is bool or not isinstance(value, bool), (where, key, value)  # bool is an int


def check_json_feed_1_1(doc: dict[str, Any]) -> None:
    """The structure https://jsonfeed.org/version/1.1 requires: version, title and items at the top,
    id and content_html/content_text in each item, url and mime_type in each attachment, a name, url or
    avatar in each author, RFC 3339 dates, every other key the spec's or an "_" extension object."""
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(doc["title"], str) and doc["title"]
    assert isinstance(doc["items"], list)
    _check_keys(doc, FEED_KEYS, "feed")
    for item in doc["items"]:
        _check_keys(item, ITEM_KEYS, "item")
        assert isinstance(item["id"], str) and item["id"]
        assert isinstance(item.get("content_html"), str) or isinstance(item.get("content_text"), str)
        for key in ("date_published", "date_modified"):
            if key in item:
                assert RFC3339.fullmatch(item[key]), item[key]
        for author in item.get("authors", []):
            assert set(author) <= {"name", "url", "avatar"} and author, author
            assert all(isinstance(v, str) and v for v in author.values())
        assert all(isinstance(t, str) for t in item.get("tags", []))
        for att in item.get("attachments", []):
            _check_keys(att, ATTACHMENT_KEYS, "attachment")
            assert isinstance(att["url"], str) and att["url"]
            assert isinstance(att["mime_type"], str) and "/" in att["mime_type"]


def render_json_doc(items: list[PublishedItem] = ITEMS, channel: ChannelConfig = CHANNEL) -> dict[str, Any]:
    doc = json.loads(render("json", items, channel).decode("utf-8"))
    check_json_feed_1_1(doc)
    return doc


def test_json_feed_checker_rejects_what_the_spec_forbids() -> None:
    """The checker above is not vacuous."""
    good = render_json_doc()
    for broken in (
        {k: v for k, v in good.items() if k != "title"},
        {**good, "version": "https://jsonfeed.org/version/1"},
        {**good, "updated": "2023-12-05T12:00:00Z"},  # not a JSON Feed key, not an extension
        {**good, "items": [{"id": "x", "title": "no content"}]},
        {**good, "items": [{"id": "x", "content_text": "t", "date_published": "2023-12-05 12:00:00"}]},
        {**good, "items": [{"id": "x", "content_text": "t", "date_published": "2023-12-05T12:00:00"}]},
        {**good, "items": [{"id": "x", "content_text": "t", "attachments": [{"url": "https://a/b.pdf"}]}]},
        {**good, "items": [{"id": 1, "content_text": "t"}]},
        {**good, "items": [{"id": "x", "content_text": "t", "authors": [{}]}]},
    ):
        with pytest.raises((AssertionError, KeyError)):
            check_json_feed_1_1(broken)


def test_json_feed_metadata() -> None:
    doc = render_json_doc()
    assert list(doc)[:2] == ["version", "title"]
    assert doc["title"] == "检察新闻"
    assert doc["home_page_url"] == SITE
    assert doc["feed_url"] == f"{SITE}feeds/news.json"
    assert doc["description"] == "最高检转载"
    assert doc["language"] == "zh-CN"
    en = render_json_doc([replace(make_item(1, 1), template="en")], replace(CHANNEL, template="en"))
    assert en["language"] == "en"
    assert render_json_doc(channel=replace(CHANNEL, description=""))["description"] == "检察新闻"
    assert "language" not in render_json_doc(channel=replace(CHANNEL, template="custom"))


def test_json_feed_items_newest_first_with_the_attributed_content() -> None:
    doc = render_json_doc()
    assert [i["id"] for i in doc["items"]] == [f"urn:syndication:article:{n}" for n in (30, 20, 10)]
    by_id = {i.guid: i for i in ITEMS}
    for out in doc["items"]:
        item = by_id[out["id"]]
        assert out["url"] == item.link
        assert out["title"] == item.title
        assert out["content_html"] == item.attribution_html  # the republished body, as RSS/Atom carry
        assert out["content_text"] == item.attribution_text
        assert "原文链接" in out["content_html"] and "免责声明" in out["content_html"]
        assert out["summary"] == item.summary
        assert out["tags"] == ["检察", "人才队伍"]
    limited = render_json_doc(channel=replace(CHANNEL, limit=2))
    assert [i["id"] for i in limited["items"]] == ["urn:syndication:article:30", "urn:syndication:article:20"]


def test_json_feed_dates_are_rfc3339_with_an_offset() -> None:
    doc = render_json_doc()
    first = doc["items"][0]
    assert first["date_published"] == "2023-12-03T00:30:00Z"  # 08:30 Beijing
    assert first["date_modified"] == "2023-12-03T01:30:00Z"
    for out, item in zip(doc["items"], sorted(ITEMS, key=lambda i: -i.article_id), strict=True):
        published = datetime.fromisoformat(out["date_published"])
        assert published.utcoffset() is not None
        assert published == item.published_at
        assert datetime.fromisoformat(out["date_modified"]) == item.updated_at


def test_json_feed_authors_only_when_known() -> None:
    by_id = {i["id"]: i for i in render_json_doc()["items"]}
    assert by_id["urn:syndication:article:20"]["authors"] == [{"name": "戴小巍"}]
    assert "authors" not in by_id["urn:syndication:article:30"]  # unknown: no 佚名 placeholder
    blank = replace(make_item(1, 1), provenance=replace(make_item(1, 1).provenance, author="  "))
    assert "authors" not in render_json_doc([blank])["items"][0]


def test_json_feed_provenance_extension_uses_the_webhook_names() -> None:
    by_id = {i["id"]: i for i in render_json_doc()["items"]}
    oldest = by_id["urn:syndication:article:10"]["_syndication"]
    keys = "about original_url publisher author published_at source_id source_name also_at"
    assert list(oldest) == keys.split()
    assert oldest["about"] == PROVENANCE_NS
    assert oldest["original_url"] == ITEMS[0].link
    assert (oldest["publisher"], oldest["author"]) == ("中华人民共和国最高人民检察院", "戴小巍")
    assert (oldest["source_id"], oldest["source_name"]) == ("spp", "最高人民检察院")
    assert oldest["published_at"] == "2023-12-01T00:30:00Z"
    also = [(s["source_id"], s["url"], s["seen_at"], s["published_at"]) for s in oldest["also_at"]]
    assert also == [
        ("lzfzw", "https://www.lzfzwl.org.cn/a/1.html", "2023-12-03T00:00:00Z", None),
        ("hbjc", None, "2023-12-04T00:00:00Z", "2023-12-02T00:00:00Z"),
    ]
    # the same record as the webhook payload's data.provenance, for every item
    for item in ITEMS:
        payload = build_payload(item, channel_ids=["news"], timestamp=UPDATED)
        extension = dict(by_id[item.guid]["_syndication"])
        assert extension.pop("about") == PROVENANCE_NS
        assert extension == payload["data"]["provenance"]
    assert by_id["urn:syndication:article:30"]["_syndication"]["author"] is None  # unknown stays unknown


def test_json_feed_is_deterministic_utf8() -> None:
    first = render("json")
    assert render("json") == first
    assert render("json", list(reversed(ITEMS))) == first  # input order does not matter
    later = render_feed(
        "json",
        CHANNEL,
        ITEMS,
        site_url=SITE,
        feed_url=f"{SITE}feeds/news.json",
        updated=UPDATED + timedelta(1),
    )
    assert later == first  # no feed-level time: the bytes change with content only
    assert "免责声明".encode() in first and b"\\u" not in first  # UTF-8, not \u escapes
    assert first.startswith(b'{"version":"https://jsonfeed.org/version/1.1"')
    changed = render("json", [replace(ITEMS[0], title="改过的标题"), *ITEMS[1:]])
    assert changed != first


def test_json_feed_empty_channel_and_item_without_link() -> None:
    empty = render_json_doc([])
    assert empty["items"] == [] and empty["title"] == "检察新闻"
    item = replace(make_item(1, 1), link=None, categories=(), summary="")
    item = replace(item, provenance=replace(item.provenance, original_url=None))
    (out,) = render_json_doc([item])["items"]
    assert out["id"] == "urn:syndication:article:1"
    assert not {"url", "tags", "summary", "attachments"} & set(out)
    assert out["_syndication"]["original_url"] is None


def test_json_feed_hostile_text_and_characters_xml_cannot_carry() -> None:
    hostile = '<script>alert("x")</script> & ]]> "标\u2028题" \\ end'
    (out,) = render_json_doc([make_item(1, 1, title=hostile)])["items"]
    assert out["title"] == hostile  # JSON escaping round-trips it exactly
    item = make_item(1, 1, title="标\x00题\ud800\ufffe")
    item = replace(
        item, attribution_text=item.attribution_text + "\x08", categories=("a\x0bb", "a\x0bb", " ")
    )
    data = render("json", [item])  # a lone surrogate would make the UTF-8 encoding raise
    (out,) = json.loads(data)["items"]
    assert out["title"] == "标题"
    assert out["tags"] == ["ab"]  # cleaned, de-duplicated, blank dropped
    assert not out["content_text"].endswith("\x08")
    with pytest.raises(ValueError, match="tz-aware"):
        render_feed("json", CHANNEL, [], site_url=SITE, feed_url=SITE, updated=datetime(2023, 12, 5))


def test_render_json_matches_render_feed() -> None:
    body = render_json(CHANNEL, ITEMS, site_url=SITE, feed_url=f"{SITE}feeds/news.json", updated=UPDATED)
    assert body == render("json")
