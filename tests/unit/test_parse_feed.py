"""parse.feed over real feeds (chardet's Chinese legacy feeds, fastfeedparser's integration set, feedparser's
conformance suite) and small inline fixtures for the mapping rules."""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pytest

from syndication.errors import ParseError
from syndication.models import RawItem
from syndication.parse.feed import parse_feed

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
LEGACY = CORPUS / "feeds" / "chinese-legacy-encodings"
CONFORMANCE = CORPUS / "feeds" / "feedparser-conformance" / "tests"
INTEGRATION = CORPUS / "feeds" / "real" / "fastfeedparser" / "tests" / "integration"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared/corpus is not beside the repo")

URL = "https://www.example.gov.cn/feeds/news.xml"
_CJK = re.compile(r"[\u4e00-\u9fff]")


def legacy_feeds() -> list[Path]:
    if not LEGACY.is_dir():
        return []
    return sorted(
        p for d in ("GB2312", "Big5") for p in (LEGACY / d).glob("*.xml") if not p.name.startswith("_")
    )


def rss(items: str, *, namespaces: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {namespaces}><channel>'
        f"<title>Site</title><link>https://www.example.gov.cn/</link>{items}</channel></rss>"
    ).encode()


# --- real feeds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", legacy_feeds(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_chinese_legacy_feeds_give_readable_titles(path: Path) -> None:
    content = path.read_bytes()
    feed = parse_feed(content, url=URL)
    assert feed.items
    assert feed.encoding in ({"gb18030"} if path.parent.name == "GB2312" else {"cp950", "big5hkscs"})
    titles = [item.title for item in feed.items if item.title]
    assert titles
    text = "".join(titles + [item.content_html for item in feed.items])
    assert "\ufffd" not in text
    assert len(_CJK.findall(text)) > 20  # two of these blogs title in English and write in Chinese
    # No mojibake: every Chinese character read occurs in the document decoded in its true encoding.
    truth = content.decode("gb18030" if path.parent.name == "GB2312" else "cp950")
    assert set(_CJK.findall(text)) <= set(_CJK.findall(html.unescape(truth)))


@pytest.mark.parametrize(
    ("relpath", "title"),
    [
        ("GB2312/w3cn.org.xml", "如何以及何时使用sIFR"),
        ("GB2312/14.blog.westca.com.xml", "想要飞 却怎么样也飞不高"),
        ("Big5/0804.blogspot.com.xml", "《11月的蕭邦》"),
        ("Big5/marilynwu.blogspot.com.xml", "本人現任首席偶像。"),
    ],
)
def test_known_chinese_titles(relpath: str, title: str) -> None:
    assert parse_feed((LEGACY / relpath).read_bytes(), url=URL).items[0].title == title


def test_marilynwu_tilde_reads_as_typed() -> None:
    titles = [
        i.title for i in parse_feed((LEGACY / "Big5/marilynwu.blogspot.com.xml").read_bytes(), url=URL).items
    ]
    assert any("小青來了～小青來見白娘娘了～～～" in t for t in titles)


def _norm(text: str | None) -> str:
    return " ".join(html.unescape(text or "").split())


@pytest.mark.parametrize(
    "name",
    sorted(p.stem for p in INTEGRATION.glob("*.xml") if p.stem != "malformed_rss_namespaced")
    if INTEGRATION.is_dir()
    else [],
)
def test_fastfeedparser_integration_feeds_match_expected(name: str) -> None:
    expected = json.loads((INTEGRATION / f"{name}.json").read_text(encoding="utf-8"))
    feed = parse_feed((INTEGRATION / f"{name}.xml").read_bytes(), url=f"https://example.com/{name}.xml")
    assert _norm(feed.title) == _norm(expected["feed"].get("title"))
    assert len(feed.items) == len(expected["entries"])
    for item, want in zip(feed.items, expected["entries"], strict=True):
        assert _norm(item.title) == _norm(want.get("title"))
        assert item.url == want.get("link")
        if item.guid is not None:
            assert item.guid == want.get("id")
        if want.get("published"):
            assert item.published or item.updated  # raw text, re-parsed later


def test_fastfeedparser_malformed_namespaced_rss_is_a_parse_error() -> None:
    # A double XML declaration and rss:-prefixed elements without a namespace: feedparser finds no feed.
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed((INTEGRATION / "malformed_rss_namespaced.xml").read_bytes(), url=URL)


def test_bozo_feed_with_entries_is_kept_with_a_warning() -> None:
    feed = parse_feed((INTEGRATION / "osm-pl.xml").read_bytes(), url=URL)
    assert len(feed.items) == 8
    assert feed.warning and "CDATA" in feed.warning


def test_fastfeedparser_json_feed_sample() -> None:
    expected = json.loads((INTEGRATION / "json_feed_sample.expected.json").read_text(encoding="utf-8"))
    feed = parse_feed(
        (INTEGRATION / "json_feed_sample.json").read_bytes(), url="https://example.org/feed.json"
    )
    assert feed.format == "json"
    assert [i.title for i in feed.items] == [e["title"] for e in expected["entries"]]
    assert [i.url for i in feed.items] == [e["link"] for e in expected["entries"]]
    assert feed.items[0].author == "Jane Smith"
    assert feed.items[1].author == "John Doe"  # the feed's authors apply to items without their own
    assert feed.items[0].summary_html == "<p>First item summary</p>"
    assert feed.items[1].content_html == "<p>This is plain text content for the second item.</p>"
    assert feed.items[0].categories == ("test", "json", "feed")
    assert (feed.items[0].published, feed.items[0].updated) == (
        "2024-01-15T12:00:00Z",
        "2024-01-15T13:00:00Z",
    )


def test_feedparser_conformance_json_example() -> None:
    feed = parse_feed(
        (CONFORMANCE / "json" / "example.json").read_bytes(), url="https://example.org/feed.json"
    )
    assert feed.title == "My Example Feed"
    assert len(feed.items) == 2
    assert feed.items[1].content_html.startswith("<p>Hello, world!</p>")  # unsanitized: that comes later


@pytest.mark.parametrize("family", ["rss", "atom10", "atom", "rdf"])
def test_feedparser_conformance_wellformed_feeds_all_parse(family: str) -> None:
    files = sorted((CONFORMANCE / "wellformed" / family).glob("*.xml"))
    assert len(files) >= 10
    failures = []
    for path in files:
        try:
            parse_feed(path.read_bytes(), url="http://example.com/feed.xml")
        except ParseError as e:
            failures.append(f"{path.name}: {e}")
    assert failures == []


@pytest.mark.parametrize(
    ("relpath", "field", "value"),
    [
        ("wellformed/rss/item_source.xml", "publisher", "Example source"),
        ("wellformed/rss/item_dc_publisher.xml", "publisher", "Example editor"),
        ("wellformed/rss/item_dc_creator.xml", "author", "Example editor"),
        ("wellformed/rss/item_author_map_author_detail_name.xml", "author", "Example editor"),
        ("wellformed/rss/item_pubDate.xml", "published", "Thu, 01 Jan 2004 19:48:21 GMT"),
        ("wellformed/rss/item_pubDate.xml", "updated", None),
        ("wellformed/rss/item_guid.xml", "guid", "http://guid.example.com/"),
        ("wellformed/rss/item_content_encoded.xml", "content_html", "<p>Example content</p>"),
        ("wellformed/rss/item_content_encoded.xml", "summary_html", ""),
        ("wellformed/atom10/entry_title_escaped_markup.xml", "title", "Example Atom"),
        ("wellformed/atom10/entry_title_inline_markup.xml", "title", "Example Atom"),
        ("wellformed/atom10/entry_link_multiple.xml", "url", "http://www.example.com/"),
        (
            "wellformed/atom10/entry_content_text_plain_brackets.xml",
            "content_html",
            "<p>History of the &lt;blink&gt; tag</p>",
        ),
        ("wellformed/atom10/entry_category_term_non_ascii.xml", "categories", ("Freiräume",)),
        ("wellformed/rdf/rdf_item_link.xml", "url", "http://example.com/1"),
        ("wellformed/rdf/rss090_item_title.xml", "title", "Item title"),
        ("encoding/euc-kr-item.xml", "summary_html", "\ub144"),
        ("encoding/demoronize-1.xml", "summary_html", "don\u2019t"),
    ],
)
def test_conformance_fields(relpath: str, field: str, value: object) -> None:
    feed = parse_feed((CONFORMANCE / relpath).read_bytes(), url="http://example.com/feed.xml")
    assert getattr(feed.items[0], field) == value


def test_http_charset_from_conformance_header_is_honoured() -> None:
    content = (CONFORMANCE / "encoding" / "http_text_xml_charset_2.xml").read_bytes()
    feed = parse_feed(content, url=URL, content_type="text/xml; charset=windows-1252")
    assert feed.items[0].summary_html == "This is a \xa3\u201ctest.\u201d"


# --- mapping rules on small fixtures --------------------------------------------------------------------


def test_rss_item_mapping() -> None:
    content = rss(
        "<item><title>国务院 &amp; 新闻</title><link>/2023/12/t20231201_1.shtml</link>"
        '<guid isPermaLink="false">id-1</guid><pubDate>2023-12-01 08:30</pubDate>'
        "<dc:creator>记者 王</dc:creator><category>政务</category><category>新闻</category><category>政务</category>"
        '<description>&lt;p&gt;摘要 &lt;img src="/img/1.png"&gt;&lt;/p&gt;</description></item>',
        namespaces='xmlns:dc="http://purl.org/dc/elements/1.1/"',
    )
    feed = parse_feed(content, url=URL)
    assert (feed.title, feed.link, feed.format, feed.encoding, feed.warning) == (
        "Site",
        "https://www.example.gov.cn/",
        "rss20",
        "utf-8",
        None,
    )
    assert feed.items == (
        RawItem(
            guid="id-1",
            url="https://www.example.gov.cn/2023/12/t20231201_1.shtml",
            title="国务院 & 新闻",
            content_html='<p>摘要 <img src="/img/1.png"></p>',  # made absolute later, in sanitize
            summary_html='<p>摘要 <img src="/img/1.png"></p>',
            author="记者 王",
            publisher=None,
            published="2023-12-01 08:30",  # naive: kept raw, read later in the source's time zone
            updated=None,
            categories=("政务", "新闻"),
        ),
    )


def test_publisher_precedence_dc_publisher_then_dc_source_then_source_element() -> None:
    ns = 'xmlns:dc="http://purl.org/dc/elements/1.1/"'
    source = '<source url="http://www.xinhuanet.com/rss.xml">新华社</source>'
    items = (
        f"<item><title>a</title><dc:publisher>人民日报</dc:publisher><dc:source>央视</dc:source>{source}</item>"
        f"<item><title>b</title><dc:source>央视</dc:source>{source}</item>"
        f"<item><title>c</title>{source}</item>"
        "<item><title>d</title></item>"
    )
    publishers = [i.publisher for i in parse_feed(rss(items, namespaces=ns), url=URL).items]
    assert publishers == ["人民日报", "央视", "新华社", None]


def test_missing_guid_is_none_and_rss_author_email_gives_the_name() -> None:
    item = parse_feed(
        rss("<item><title>x</title><author>press@example.gov.cn (新闻办)</author></item>"), url=URL
    ).items[0]
    assert item.guid is None and item.url is None
    assert item.author == "新闻办"


def test_atom_mapping() -> None:
    content = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom site</title><author><name>Press Office</name></author>
<link rel="alternate" href="https://example.org/"/>
<entry><id>tag:example.org,2024:1</id><title type="html">&lt;b&gt;Budget&lt;/b&gt; &amp;amp; tax</title>
<link rel="related" href="/related"/><link rel="alternate" type="text/html" href="/news/1"/>
<published>2024-01-01T08:00:00+08:00</published><updated>2024-01-02T08:00:00+08:00</updated>
<summary type="text">a &lt; b</summary><content type="html">&lt;p&gt;full&lt;/p&gt;</content>
<category term="finance"/><category term="finance"/><category term="tax"/></entry>
<entry><id>tag:example.org,2024:2</id><title>Own author</title><author><name>Li</name></author></entry>
</feed>"""
    feed = parse_feed(content, url="https://example.org/feeds/atom.xml")
    assert feed.format == "atom10"
    first, second = feed.items
    assert first.title == "Budget & tax"
    assert first.url == "https://example.org/news/1"
    assert first.guid == "tag:example.org,2024:1"
    assert (first.published, first.updated) == ("2024-01-01T08:00:00+08:00", "2024-01-02T08:00:00+08:00")
    assert first.summary_html == "<p>a &lt; b</p>"
    assert first.content_html == "<p>full</p>"
    assert first.categories == ("finance", "tax")
    assert first.author == "Press Office"  # inherited from the feed, as RFC 4287 says
    assert second.author == "Li"


def test_json_feed_inline_1_0_and_1_1() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1",
        "title": "政务 JSON",
        "home_page_url": "https://www.example.gov.cn/",
        "author": {"name": "办公厅"},
        "items": [
            {
                "id": 42,
                "url": "/art/1.html",
                "title": "通知",
                "content_text": "第一段 <b>不是标签</b>\n\n第二段",
                "date_published": "2024-03-01T09:00:00",
                "tags": ["通知", "通知", "公告"],
            },
            {
                "id": "b",
                "external_url": "https://other.example/x",
                "summary": "摘要",
                "authors": [{"name": "张三"}],
            },
            "not an item",
        ],
    }
    feed = parse_feed(
        json.dumps(doc, ensure_ascii=False).encode(), url=URL, content_type="application/feed+json"
    )
    assert (feed.title, feed.link, feed.format) == ("政务 JSON", "https://www.example.gov.cn/", "json")
    first, second = feed.items
    assert first.guid == "42"
    assert first.url == "https://www.example.gov.cn/art/1.html"
    assert first.content_html == "<p>第一段 &lt;b&gt;不是标签&lt;/b&gt;</p><p>第二段</p>"
    assert first.author == "办公厅"
    assert first.published == "2024-03-01T09:00:00"
    assert first.categories == ("通知", "公告")
    assert second.url == "https://other.example/x"
    assert (second.content_html, second.summary_html) == ("<p>摘要</p>", "<p>摘要</p>")
    assert second.author == "张三"
    assert second.title == ""


def test_json_that_is_not_a_json_feed_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="not a JSON Feed"):
        parse_feed(b'{"status": "ok", "items": []}', url=URL, content_type="application/json")
    with pytest.raises(ParseError, match="not a JSON Feed"):
        parse_feed(b"[1, 2]", url=URL, content_type="application/json")
    with pytest.raises(ParseError, match="invalid JSON"):
        parse_feed(b'{"version": "https://jsonfeed.org/version/1.1", ', url=URL)


def test_valid_feed_with_no_entries_is_empty_not_an_error() -> None:
    feed = parse_feed(rss(""), url=URL)
    assert feed.items == () and feed.title == "Site" and feed.warning is None


def test_truncated_feed_keeps_the_entries_it_has() -> None:
    content = b'<rss version="2.0"><channel><title>T</title><item><title>a</title></item><item><title>b'
    feed = parse_feed(content, url=URL)
    assert len(feed.items) == 2
    assert feed.items[0].title == "a"  # the cut-off second item has no complete title
    assert feed.warning and "SAXParseException" in feed.warning


@pytest.mark.parametrize(
    "path",
    [
        "chinese-legacy-encodings/GB2312/_chromium_gb18030_with_no_encoding_specified.html.xml",
        "chinese-legacy-encodings/Big5/_chromium_Big5_with_no_encoding_specified.html",
    ],
)
def test_html_page_is_a_parse_error(path: str) -> None:
    with pytest.raises(ParseError, match="HTML page, not a feed"):
        parse_feed((CORPUS / "feeds" / path).read_bytes(), url=URL)


def test_html_news_page_at_a_feed_url_is_a_parse_error() -> None:
    content = (CORPUS / "pages" / "gne" / "tests" / "people" / "1.html").read_bytes()
    with pytest.raises(ParseError, match="HTML page, not a feed"):
        parse_feed(content, url=URL, content_type="text/html; charset=gb2312")
    with pytest.raises(ParseError, match="HTML page, not a feed"):
        parse_feed(
            b"<!DOCTYPE html><title>404</title><p>Not here", url=URL, content_type="application/rss+xml"
        )


def test_rss_served_as_text_html_still_parses() -> None:
    feed = parse_feed(rss("<item><title>a</title></item>"), url=URL, content_type="text/html; charset=utf-8")
    assert [i.title for i in feed.items] == ["a"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b" \r\n\t ", "empty"),
        (b"hello, this is not a feed", "not a feed"),
        (b"<<<>>><<", "not a feed"),
        (b'<?xml version="1.0"?><config><a>1</a></config>', "not a feed"),
        (os.urandom(4096) + b"\x00\x01\x02" * 40, "cannot decode"),
    ],
)
def test_garbage_is_a_parse_error(content: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(content, url=URL)


def test_bytes_that_name_a_local_file_are_not_opened() -> None:
    # feedparser.parse(bytes) tries the bytes as a file name first; we must never hand it raw bytes.
    with pytest.raises(ParseError):
        parse_feed(str(CONFORMANCE / "wellformed" / "rss" / "item_title.xml").encode(), url=URL)
