"""normalize: titles, URLs, dates, content hash and one item end to end."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from syndication.models import RawItem, SourceConfig
from syndication.process.normalize import (
    CONTENT_HASH_VERSION,
    absolute_url,
    canonical_url,
    clean_title,
    content_hash,
    normalize_item,
    parse_datetime,
)

SHANGHAI = "Asia/Shanghai"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "　湖北：以高质量人才队伍建设　助推检察工作现代化　",
            "湖北：以高质量人才队伍建设 助推检察工作现代化",
        ),
        ("  a\n\t b\u00a0\u00a0c  ", "a b c"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("<b>粗体</b>标题", "粗体 标题"),
        ("A &amp; B &lt;C&gt;", "A & B <C>"),
        ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
        ("e\u0301", "\u00e9"),  # NFC
        ("", ""),
        ("\u3000\u3000", ""),
    ],
)
def test_clean_title(raw: str, expected: str) -> None:
    assert clean_title(raw) == expected


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        (
            "t20231201_635358.shtml",
            "http://www.spp.gov.cn/spp/zdgz/",
            "http://www.spp.gov.cn/spp/zdgz/t20231201_635358.shtml",
        ),
        ("  https://x.org/a#frag ", None, "https://x.org/a"),
        (
            "HTTPS://X.org:443/A?b=1&utm_source=z",
            None,
            "https://X.org:443/A?b=1&utm_source=z",
        ),  # no other change
        ("/a", None, None),
        ("", "https://x.org/", None),
        (None, "https://x.org/", None),
        ("javascript:alert(1)", "https://x.org/", None),
        ("http:///nohost", None, None),
        ("mailto:a@example.org", None, "mailto:a@example.org"),
    ],
)
def test_absolute_url(url: str | None, base: str | None, expected: str | None) -> None:
    assert absolute_url(url, base_url=base) == expected


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("HTTP://WWW.Example.ORG:80/Path?x=1#top", None, "http://www.example.org/Path?x=1"),
        ("https://example.org:443", None, "https://example.org/"),
        ("https://example.org:8443/a", None, "https://example.org:8443/a"),
        ("https://example.org/a?p=1&utm_source=x", None, "https://example.org/a?p=1"),
        ("https://example.org/a?utm_source=x&utm_medium=y&UTM_Campaign=z", None, "https://example.org/a"),
        ("https://example.org/a?fbclid=1&id=2&gclid=3&spm=a.b.c", None, "https://example.org/a?id=2"),
        ("https://example.org/a?z=1&a=2&m=3", None, "https://example.org/a?z=1&a=2&m=3"),  # order kept
        (
            "https://example.org/a?q=%E4%B8%AD&x=a+b",
            None,
            "https://example.org/a?q=%E4%B8%AD&x=a+b",
        ),  # bytes kept
        (
            "https://mp.weixin.qq.com/s?__biz=M&mid=1&from=timeline&isappinstalled=0",
            None,
            "https://mp.weixin.qq.com/s?__biz=M&mid=1",
        ),
        (
            "https://example.org/list?from=20",
            None,
            "https://example.org/list?from=20",
        ),  # a non-tracking `from`
        ("t1.shtml?utm_medium=rss", "http://www.SPP.gov.cn/spp/", "http://www.spp.gov.cn/spp/t1.shtml"),
        ("https://例子.中国/a", None, "https://xn--fsqu00a.xn--fiqs8s/a"),
        ("http://[::1]:80/a", None, "http://[::1]/a"),
        ("http://user:pw@Example.org/", None, "http://user:pw@example.org/"),
        ("mailto:a@example.org", None, "mailto:a@example.org"),
        ("/relative", None, None),
        ("http://example.org:99999999/", None, None),
        ("javascript:alert(1)", None, None),
        ("http://[::1/a", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_canonical_url(url: str | None, base: str | None, expected: str | None) -> None:
    assert canonical_url(url, base_url=base) == expected


def test_canonical_url_odd_input_never_raises() -> None:
    # "[" made urlsplit raise when the joined URL was split a second time.
    assert (canonical_url("Uhttp:////;<p>[x") or "").startswith("uhttp:")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://x.org/article.php?id=1", "https://x.org/article.php?id=2"),
        ("https://x.org/a?p=1&utm_source=x", "https://x.org/a?p=2&utm_source=x"),
        ("https://x.org/a?a=1&b=2", "https://x.org/a?b=2&a=1"),
        ("https://x.org/Article", "https://x.org/article"),
        ("https://x.org/list?from=20", "https://x.org/list?from=40"),
        ("http://x.org/a", "https://x.org/a"),
    ],
)
def test_canonical_url_keeps_different_entries_distinct(a: str, b: str) -> None:
    assert canonical_url(a) != canonical_url(b)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2023-12-01 08:30", SHANGHAI, utc(2023, 12, 1, 0, 30)),
        ("2023-12-01 08:30:00", SHANGHAI, utc(2023, 12, 1, 0, 30)),
        ("2023-12-01", SHANGHAI, utc(2023, 11, 30, 16, 0)),
        ("2023/12/01", SHANGHAI, utc(2023, 11, 30, 16, 0)),
        ("2023.12.01", SHANGHAI, utc(2023, 11, 30, 16, 0)),
        ("2023年12月01日 08:30", SHANGHAI, utc(2023, 12, 1, 0, 30)),
        ("2023年12月1日", SHANGHAI, utc(2023, 11, 30, 16, 0)),
        ("2023年12月1日 8点30分", SHANGHAI, utc(2023, 12, 1, 0, 30)),
        ("发布时间：2023-12-01 08:30", SHANGHAI, utc(2023, 12, 1, 0, 30)),
        ("发布时间:2023-12-01 08:30  来源：新华社", SHANGHAI, utc(2023, 12, 1, 0, 30)),
        ("２０２３－１２－０１　０８：３０", SHANGHAI, utc(2023, 12, 1, 0, 30)),
        ("2023-12-01 08:30", "UTC", utc(2023, 12, 1, 8, 30)),
        ("2023-07-01 08:30", "America/New_York", utc(2023, 7, 1, 12, 30)),  # EDT
        ("2023-12-01T08:30:00Z", SHANGHAI, utc(2023, 12, 1, 8, 30)),
        ("2023-12-01T08:30:00.123456+08:00", SHANGHAI, datetime(2023, 12, 1, 0, 30, 0, 123456, tzinfo=UTC)),
        ("2023-12-01T08:30:00-05:00", SHANGHAI, utc(2023, 12, 1, 13, 30)),
        ("2023-12-01T08:30:00+0800", "UTC", utc(2023, 12, 1, 0, 30)),
        ("2023-12-01T08:30:00", SHANGHAI, utc(2023, 12, 1, 0, 30)),
        ("2023-12-01 08:30 GMT+8", "UTC", utc(2023, 12, 1, 0, 30)),
        ("Fri, 01 Dec 2023 08:30:00 +0800", "UTC", utc(2023, 12, 1, 0, 30)),
        ("Fri, 01 Dec 2023 08:30:00 GMT", SHANGHAI, utc(2023, 12, 1, 8, 30)),
        ("Fri, 01 Dec 2023 08:30:00 EST", SHANGHAI, utc(2023, 12, 1, 13, 30)),
        ("Fri, 01 Dec 2023 08:30:00 CST", "UTC", utc(2023, 12, 1, 0, 30)),  # China Standard Time
        ("Sat Dec 02 08:30:00 CST 2023", "UTC", utc(2023, 12, 2, 0, 30)),  # Java Date.toString()
        ("Fri, 01 Dec 2023 08:30:00", SHANGHAI, utc(2023, 12, 1, 0, 30)),  # no zone: read in tz
        ("01 Dec 23 08:30 GMT", SHANGHAI, utc(2023, 12, 1, 8, 30)),
        ("December 1, 2023", SHANGHAI, utc(2023, 11, 30, 16, 0)),
        ("0001-01-01", "UTC", utc(1, 1, 1)),  # implausible, still returned
        ("0001-01-01", SHANGHAI, datetime.min.replace(tzinfo=UTC)),  # not expressible in UTC: clamped
        ("garbage", SHANGHAI, None),
        ("", SHANGHAI, None),
        ("   ", SHANGHAI, None),
        (None, SHANGHAI, None),
        ("2023-13-45 08:30", SHANGHAI, None),
        ("2023-12-01T25:99:00Z", SHANGHAI, None),
        ("2023-12-01T08:30:00+99:00", SHANGHAI, None),
        ("32 Foo 2023", SHANGHAI, None),
    ],
)
def test_parse_datetime(text: str | None, tz: str, expected: datetime | None) -> None:
    got = parse_datetime(text, tz=tz)
    assert got == expected
    if got is not None:
        assert got.utcoffset() == timedelta(0)


def test_parse_datetime_rejects_unknown_timezone() -> None:
    with pytest.raises(ValueError, match="Asia/Shangai"):
        parse_datetime("2023-12-01", tz="Asia/Shangai")


BODY = (
    "激活内驱力 人人尽展其才。近日，湖北省鄂州市梁子湖区检察院迎来一批“特别的老师”——湖北省检察机关巡讲团。"
    * 4
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("标题", BODY), ("另一个标题", BODY)),  # same body, different title
        (("标题", BODY), ("标题", "  " + BODY.replace("。", "。\n\n　　") + "\n")),  # whitespace differs
        (("t", "ＡＢＣ" + BODY), ("t", "abc" + BODY)),  # NFKC + lower case
        (("t", BODY), ("t", BODY.replace("近日", "近\u200b日"))),  # zero-width characters
        (("Same title", ""), ("Same  title", "")),  # title-only entries: title whitespace ignored
    ],
)
def test_content_hash_equal(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert content_hash(*a) == content_hash(*b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("t", BODY), ("t", BODY.replace("湖北", "湖南"))),
        (("First headline", ""), ("Second headline", "")),  # title-only entries stay apart
        (("One", "short body"), ("Two", "short body")),
    ],
)
def test_content_hash_different(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert content_hash(*a) != content_hash(*b)


def test_content_hash_follows_the_documented_rule() -> None:
    assert CONTENT_HASH_VERSION == 1
    body = "  Ｈｅｌｌｏ\u3000World, this body is long enough to be hashed alone. " * 5 + "\n"
    basis = "helloworld,thisbodyislongenoughtobehashedalone." * 5
    assert content_hash("ignored title", body) == hashlib.sha256(b"v1\x00" + basis.encode()).hexdigest()
    short = hashlib.sha256("v1\x00标题\x1fshort".encode()).hexdigest()
    assert content_hash(" 标 题 ", "Short") == short


SOURCE = SourceConfig(
    id="spp", name="最高人民检察院", kind="feed", url="http://www.spp.gov.cn/rss.xml", timezone=SHANGHAI
)
NOW = utc(2023, 12, 5, 0, 0)


def test_normalize_item_end_to_end() -> None:
    raw = RawItem(
        guid="  spp-635358 ",
        url="/spp/zdgz/202312/t20231201_635358.shtml#content",
        title="　湖北：以高质量人才队伍建设助推检察工作现代化　",
        content_html=(
            '<div class="TRS_Editor"><p style="text-indent:2em">　　激活内驱力 人人尽展其才</p>'
            '<p><img src="W020231201.jpg" onerror="alert(1)"></p><script>alert(1)</script>'
            '<p>　　近日，<a href="../202311/t1.shtml">湖北省</a>检察院。</p></div>'
        ),
        author="  ",
        publisher=" 检察日报 ",
        published="2023-12-01 08:30",
        updated="2023-12-02T10:00:00+08:00",
        categories=("检察", " 检察 ", "", "人才"),
    )
    item = normalize_item(raw, SOURCE, base_url="http://www.spp.gov.cn/rss.xml", now=NOW)
    assert item.source_id == "spp"
    assert item.guid == "spp-635358"
    assert item.url == "http://www.spp.gov.cn/spp/zdgz/202312/t20231201_635358.shtml"
    assert item.canonical_url == "http://www.spp.gov.cn/spp/zdgz/202312/t20231201_635358.shtml"
    assert item.title == "湖北：以高质量人才队伍建设助推检察工作现代化"
    assert '<img src="http://www.spp.gov.cn/spp/zdgz/202312/W020231201.jpg">' in item.content_html
    assert 'href="http://www.spp.gov.cn/spp/zdgz/202311/t1.shtml"' in item.content_html
    assert "script" not in item.content_html and "onerror" not in item.content_html
    assert "style" not in item.content_html
    assert item.content_text == "激活内驱力 人人尽展其才\n\n近日，湖北省检察院。"
    assert item.summary == "激活内驱力 人人尽展其才 近日，湖北省检察院。"
    assert item.author is None
    assert item.publisher == "检察日报"
    assert item.published_at == utc(2023, 12, 1, 0, 30)
    assert item.updated_at == utc(2023, 12, 2, 2, 0)
    assert item.categories == ("检察", "人才")
    assert item.content_hash == content_hash(item.title, item.content_text)


def test_normalize_item_fallbacks_and_clamping() -> None:
    long_text = "字" * 300
    raw = RawItem(url="https://x.org/a", title="", summary_html=f"<p>{long_text}</p>", published="2030-01-01")
    item = normalize_item(raw, SOURCE, base_url=None, now=NOW)
    assert item.title == "字" * 59 + "…"
    assert item.summary == "字" * 199 + "…" and len(item.summary) == 200
    assert item.content_text == long_text
    assert item.published_at == NOW  # more than a day in the future: clamped
    assert item.updated_at is None

    soon = normalize_item(RawItem(title="t", published="2023-12-05 12:00"), SOURCE, base_url=None, now=NOW)
    assert soon.published_at == utc(2023, 12, 5, 4, 0)  # within a day: kept

    only_updated = normalize_item(RawItem(title="t", updated="2023-12-01"), SOURCE, base_url=None, now=NOW)
    assert only_updated.published_at == only_updated.updated_at == utc(2023, 11, 30, 16, 0)  # dc:date style

    bare = normalize_item(RawItem(url="https://x.org/only-url"), SOURCE, base_url=None, now=NOW)
    assert bare.title == "https://x.org/only-url"
    assert normalize_item(RawItem(), SOURCE, base_url=None, now=NOW).title == "(untitled)"


def test_normalize_item_uses_a_feed_summary_when_given() -> None:
    raw = RawItem(title="t", content_html="<p>full body</p>", summary_html="<p>the &amp; summary</p>")
    item = normalize_item(raw, SOURCE, base_url=None, now=NOW)
    assert item.summary == "the & summary"
    assert item.content_text == "full body"


def test_relative_urls_follow_an_explicit_xml_base() -> None:
    raw = RawItem(
        guid="g",
        url="https://gov.example/a/2.html",
        title="t",
        content_html='<p><img src="img/1.png"></p>',
        base="http://reprint.example/news/",
    )
    item = normalize_item(raw, SOURCE, base_url="http://reprint.example/feed.xml", now=NOW)
    assert 'src="http://reprint.example/news/img/1.png"' in item.content_html
    without = normalize_item(
        replace(raw, base=None), SOURCE, base_url="http://reprint.example/feed.xml", now=NOW
    )
    assert 'src="https://gov.example/a/img/1.png"' in without.content_html
