"""parse.govmeta (meta tags, JSON-LD, dates in text, CSS subset) and parse.bylines."""

from __future__ import annotations

import lxml.html
import pytest

from syndication.errors import ParseError
from syndication.parse import bylines
from syndication.parse.govmeta import css_xpath, date_in_text, read_meta
from syndication.process.normalize import parse_datetime


def doc(head: str, body: str = "") -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(f"<html><head>{head}</head><body>{body}<p>x</p></body></html>")


def test_gov_meta_any_case():
    meta = read_meta(
        doc(
            '<meta name="articletitle" content="标题"><meta name="PUBDATE" content="2023-12-01 08:30">'
            '<meta name="contentSource" content="省发改委"><meta name="ColumnName" content="通知公告">'
            '<meta name="Author" content="张三"><meta name="Url" content="http://x.gov.cn/a.html">'
        )
    )
    assert meta.gov == {
        "title": "标题",
        "published": "2023-12-01 08:30",
        "source": "省发改委",
        "category": "通知公告",
        "author": "张三",
        "url": "http://x.gov.cn/a.html",
    }


def test_generic_author_is_not_gov_meta_on_other_pages():
    meta = read_meta(doc('<meta name="author" content="网易"><meta property="og:title" content="T">'))
    assert "author" not in meta.gov
    assert meta.common["author"] == "网易" and meta.common["title"] == "T"


def test_json_ld_graph_and_time_elements():
    meta = read_meta(
        doc(
            '<script type="application/ld+json">{"@graph": [{"@type": "WebSite", "name": "站点"},'
            '{"@type": ["NewsArticle"], "headline": "新闻", "datePublished": "2023-12-01T08:30:00+08:00",'
            '"author": [{"name": "甲"}, {"name": "乙"}], "articleSection": "要闻"}]}</script>'
            '<script type="application/ld+json">{broken</script>',
            '<time datetime="2023-12-02T10:00:00Z">12月2日</time>',
        )
    )
    assert "title" not in meta.common and meta.ld_titles == ["新闻"]  # a title only where <title> repeats it
    assert meta.common["published"] == "2023-12-01T08:30:00+08:00"
    assert meta.common["author"] == "甲, 乙"
    assert meta.common["category"] == "要闻"
    assert meta.time_elements == ["2023-12-02T10:00:00Z"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("首页 > 要闻 2023-01-01\n发布时间：2023-12-01 08:30 来源：新华社", "2023-12-01 08:30"),
        ("2023年12月01日 08:30", "2023-12-01 08:30"),
        ("日期：2023-12-01 浏览次数：12", "2023-12-01 00:00"),
        ("2023-11-30\n2023-12-01 09:15:20", "2023-12-01 09:15:20"),
        ("电话：0351-12345678", None),
    ],
)
def test_date_in_text(text, expected):
    want = parse_datetime(expected, tz="Asia/Shanghai") if expected else None
    assert date_in_text(text, "Asia/Shanghai") == want


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("div.TRS_Editor", ["body"]),
        ("#zoom p", ["p1", "p2"]),
        ("ul.list > li a", ["a1"]),
        ("a[href$='.pdf'], h1", ["t", "a1"]),
        ("span[data-role=src]", ["s"]),
    ],
)
def test_css_subset(selector, matches):
    root = lxml.html.fromstring(
        "<div><h1 id='t'>T</h1><div class='x TRS_Editor' id='body'><div id='zoom'><p id='p1'>a</p>"
        "<p id='p2'>b</p></div></div><ul class='list'><li><a id='a1' href='f.pdf'>f</a></li></ul>"
        "<span id='s' data-role='src'>src</span></div>"
    )
    assert sorted(el.get("id") for el in css_xpath(selector)(root)) == sorted(matches)


def test_bad_selector():
    with pytest.raises(ParseError, match="selector"):
        css_xpath("div[[[")


@pytest.mark.parametrize(
    ("text", "source", "author", "editor"),
    [
        ("来源：检察日报", "检察日报", None, None),
        ("来源: 人民网－人民日报  作者：王新", "人民网－人民日报", "王新", None),
        ("（记者戴小巍 通讯员阮彬）", None, "戴小巍 阮彬", None),
        ("新华社北京12月1日电（记者李四、王五）", None, "李四 王五", None),
        ("文/刘晓", None, "刘晓", None),
        ("作者：未知", None, None, None),
        ("责任编辑：赵六 作者：钱七", None, "钱七", "赵六"),
        ("【编辑：姚昊】", None, None, "姚昊"),
    ],
)
def test_bylines(text, source, author, editor):
    assert bylines.find_source(text) == source
    assert bylines.find_author(text) == author
    assert bylines.find_editor(text) == editor


@pytest.mark.parametrize(
    ("text", "notice"),
    [
        ("本文为原创，未经授权，禁止转载。", "本文为原创，未经授权，禁止转载"),
        ("版权所有：某某市人民政府 未经许可不得转载", "版权所有：某某市人民政府 未经许可不得转载"),
        ("Copyright 2023 版权所有，严禁转载", "Copyright 2023 版权所有，严禁转载"),
        ("欢迎转载，请注明出处", None),
    ],
)
def test_rights_notice(text, notice):
    assert bylines.find_rights_notice(text) == notice


def test_meta_author_that_is_a_site_or_placeholder_is_ignored():
    assert bylines.plain_author("网易", "标题_网易新闻", None, None) is None
    assert bylines.plain_author("104363", "t", None, None) is None
    assert bylines.plain_author("name, email@gmail.com", "t", None, None) is None
    assert bylines.plain_author("新京报", "t", None, "新京报") is None
    assert bylines.plain_author("张三", "标题_网易新闻", "网易", None) == "张三"


def test_english_name():
    from syndication.parse.bylines import english_name

    assert english_name("By Jane Doe and John Roe") == "Jane Doe"
    assert english_name("by: Laurie Oakes, March 25, 2015") == "Laurie Oakes"
    assert english_name("https://example.com/profile/jane") is None
    assert english_name("J J") is None
