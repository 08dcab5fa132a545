"""parse.listpage: article links, attachments, off-site links and pagination of official list pages.

Fixtures in tests/fixtures/listpages imitate TRS government list pages; the real pages are the four gne
list pages in ../shared/corpus (a news front page, a tieba thread list, a Discuz forum).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syndication.fetch.encoding import decode_bytes
from syndication.parse.listpage import (
    MAX_LINKS,
    ArticleLink,
    ListPage,
    pagination_urls,
    parse_list_page,
    validate_selector,
    walk_list_pages,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "listpages"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
REAL = CORPUS / "pages" / "gne" / "test_list_page"
BJ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2023, 12, 5, 12, 0, tzinfo=UTC)

SPP = "https://www.spp.gov.cn/spp/xwfbh/index.shtml"
SPP_DIR = "https://www.spp.gov.cn/spp/xwfbh/"


def bj(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=BJ)


def fixture(name: str) -> str:
    return decode_bytes((FIXTURES / name).read_bytes())[0]


def parse(name: str, url: str, **kw: object) -> ListPage:
    return parse_list_page(fixture(name), url=url, now=NOW, **kw)  # type: ignore[arg-type]


# --- the fixtures: exactly the expected list ------------------------------------------------------


def test_trs_list_exact_links_dates_attachments_offsite_and_pages() -> None:
    page = parse("trs_li_line.html", SPP)
    assert page.links == (
        ArticleLink(
            SPP_DIR + "202312/t20231201_635358.shtml", "最高检发布第四十九批指导性案例", bj(2023, 12, 1)
        ),
        ArticleLink(
            SPP_DIR + "202311/t20231130_635201.shtml",
            "最高人民检察院、公安部联合发布依法惩治网络暴力违法犯罪典型案例",  # the title attribute, not "..."
            bj(2023, 11, 30),
        ),
        ArticleLink(
            SPP_DIR + "202311/t20231128_634990.shtml", "“检察护企”专项行动新闻发布会", bj(2023, 11, 28)
        ),
        ArticleLink(
            "https://spp.gov.cn/spp/xwfbh/202311/t20231122_634500.shtml",  # //spp.gov.cn: same site as www.
            "最高检通报检察机关服务保障民营经济发展情况",
            bj(2023, 11, 22),
        ),
        ArticleLink(
            SPP_DIR + "202311/t20231120_634321.shtml",
            "最高检举行“依法惩治金融犯罪”新闻发布会",
            bj(2023, 11, 20),
        ),
    )
    assert page.attachments == (SPP_DIR + "202311/W020231125543210987654.pdf",)
    assert page.skipped_offsite == 1  # www.gov.cn; the footer's court.gov.cn is not in the list
    assert page.next_pages == tuple(f"{SPP_DIR}index_{n}.shtml" for n in range(1, 5))  # createPageHTML(5, 0)
    assert page.links[0].date == datetime(2023, 11, 30, 16, 0, tzinfo=UTC)  # Beijing midnight, in UTC


def test_allow_hosts_lets_an_offsite_link_in() -> None:
    for allow in (["www.gov.cn"], ["gov.cn"], ["*.gov.cn"]):
        page = parse("trs_li_line.html", SPP, allow_hosts=allow)
        assert page.skipped_offsite == 0
        assert "https://www.gov.cn/zhengce/202311/content_6917070.htm" in [link.url for link in page.links]
    assert parse("trs_li_line.html", SPP, allow_hosts=["court.gov.cn"]).skipped_offsite == 1


def test_timezone_of_dates_is_the_sources() -> None:
    page = parse("trs_li_line.html", SPP, tz="UTC")
    assert page.links[0].date == datetime(2023, 12, 1, tzinfo=UTC)


def test_table_list_with_base_href_download_attachment_and_next_anchor() -> None:
    # The page was fetched from another path: relative links resolve against <base href>.
    page = parse("table_list.html", "http://www.example.gov.cn/other/page.jsp")
    base = "http://www.example.gov.cn"
    assert [(link.url, link.date) for link in page.links] == [
        (f"{base}/art/2023/12/1/art_1229_70001.html", bj(2023, 12, 1)),
        (f"{base}/art/2023/11/29/art_1229_69990.html", bj(2023, 11, 29)),
        (f"{base}/art/2023/11/27/art_1229_69950.html", bj(2023, 11, 27)),
        ("http://example.gov.cn/art/2023/11/15/art_1229_69900.html", bj(2023, 11, 15)),
    ]
    assert page.links[0].title == "关于开展2023年度安全生产检查的通知"
    assert page.attachments == (f"{base}/module/download/downfile.jsp?filename=notice.docx",)
    assert page.skipped_offsite == 0
    assert "网站首页" not in [link.title for link in page.links]
    assert page.next_pages == (f"{base}/col/col1229/?uid=4&pageNum=2", f"{base}/col/col1229/?uid=4&pageNum=3")


def test_nav_bar_sidebar_and_footer_are_not_the_list() -> None:
    page = parse("nav_footer.html", "https://www.example.gov.cn/gzdt/index.html")
    site = "https://www.example.gov.cn/gzdt/"
    assert page.links == (
        ArticleLink(site + "202312/t20231201_1234.html", "我局召开2023年第四季度工作推进会", bj(2023, 12, 1)),
        ArticleLink(site + "202311/t20231130_1230.html", "局领导带队赴基层开展专题调研", bj(2023, 11, 30)),
        ArticleLink(site + "202311/t20231129_1228.html", "全市统计工作会议在我局召开", bj(2023, 11, 29)),
        ArticleLink(
            site + "202311/t20231127_1225.html", "我局开展“宪法宣传周”系列活动", None
        ),  # undated item
    )
    assert page.skipped_offsite == 1  # www.example.org
    assert page.attachments == ()
    assert page.next_pages == (site + "index_1.html", site + "index_2.html")


def test_year_less_dates_take_the_year_from_the_url_or_the_latest_past_one() -> None:
    html = """<ul>
      <li><a href="/a/2022/12/t20221230_1.html">年底的第一篇文章标题</a> <span>12-30</span></li>
      <li><a href="/a/show.asp?id=101">没有日期的链接文章标题</a> <span>[12-30]</span></li>
      <li><a href="/a/show.asp?id=102">另一篇没有年份的文章</a> <span>11月28日</span></li>
    </ul>"""
    page = parse_list_page(html, url="http://x.gov.cn/a/", now=NOW)
    assert [link.date for link in page.links] == [bj(2022, 12, 30), bj(2022, 12, 30), bj(2023, 11, 28)]


def test_trs_createpage_with_variables_and_current_page() -> None:
    url = "http://www.example.gov.cn/zcjd/index_2.html"
    page = parse("createpage.html", url)
    assert [link.url.rsplit("/", 2)[-2:] for link in page.links] == [
        ["202310", "t20231008_5555.html"],
        ["202309", "t20230927_5550.html"],
        ["202309", "t20230920_5544.html"],
    ]
    assert page.links[2].date == bj(2023, 9, 20)
    expected = [f"http://www.example.gov.cn/zcjd/index_{n}.html" for n in range(3, 8)]  # countPage = 8
    assert list(page.next_pages) == expected
    html = fixture("createpage.html")
    assert pagination_urls(url, html, depth=3) == expected[:2]
    assert pagination_urls(url, html, depth=1) == []
    assert pagination_urls(url, html, depth=0) == []


def test_gb18030_page_decoded_with_decode_bytes() -> None:
    raw = (FIXTURES / "gb18030_list.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    page = parse("gb18030_list.html", "http://www.example.gov.cn/jcyw/index.shtml")
    assert [link.title for link in page.links] == [
        "省检察院召开党组（扩大）会议传达学习全会精神",
        "全省检察机关“检护民生”专项行动推进会召开",
        "镕铖堃燚：生僻字标题的案件信息公开",
    ]
    assert [link.date for link in page.links] == [bj(2023, 12, 1), bj(2023, 11, 30), bj(2023, 11, 28)]
    assert page.next_pages == ("http://www.example.gov.cn/jcyw/index_1.shtml",)


def test_without_dates_article_like_urls_outside_nav_and_footer() -> None:
    page = parse("no_dates.html", "http://www.example.gov.cn/xwzx/tpxw/index.htm")
    assert [(link.url, link.title, link.date) for link in page.links] == [
        (
            "http://www.example.gov.cn/xwzx/2023-12/01/content_30012345.htm",
            "全省冬季农田水利建设全面展开",
            None,
        ),
        (
            "http://www.example.gov.cn/xwzx/2023-11/30/content_30012300.htm",
            "省委常委会召开会议研究部署近期重点工作",
            None,
        ),
        ("http://www.example.gov.cn/xwzx/show.asp?id=8812", "全省检察机关业务培训班开班", None),
    ]
    assert page.next_pages == ()


# --- selectors ------------------------------------------------------------------------------------


def test_selector_gives_exactly_the_selected_anchors() -> None:
    nav = parse("trs_li_line.html", SPP, selector="div.nav a")
    assert [link.title for link in nav.links] == [
        "首页",
        "权威发布",
        "新闻发布会",
        "重点工作",
        "检察业务",
        "互动",
    ]
    assert nav.links[0].url == "https://www.spp.gov.cn/" and nav.links[0].date is None
    listed = parse("trs_li_line.html", SPP, selector="ul.li_line > li > a")
    assert [link.date for link in listed.links] == [
        link.date for link in parse("trs_li_line.html", SPP).links
    ]
    assert listed.attachments and listed.skipped_offsite == 1
    items = parse("trs_li_line.html", SPP, selector=".li_line li")  # not anchors: the anchors inside them
    assert items.links == listed.links


@pytest.mark.parametrize(
    ("selector", "count"),
    [
        ('a[href$=".shtml"]', 4),  # not 634990: its href ends in #comment
        ("a[href^='./202311/']", 4),  # 634990 (twice in the list once deduplicated), 635201, 634321, pdf
        ("#nothing a, .footer a", 2),  # the court.gov.cn link is off-site
        ("a[title]", 1),
        ("a[href*=t20231201]", 1),
        ("ul.li_line li:first-child a", 1),
    ],
)
def test_selector_forms(selector: str, count: int) -> None:
    validate_selector(selector)
    page = parse("trs_li_line.html", SPP, selector=selector)
    assert len(page.links) + len(page.attachments) == count


@pytest.mark.parametrize("bad", ["ul[", "a >", "> a", "", " , a", "a[href='x'y']", "li::before{"])
def test_invalid_selector_is_a_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_list_page("<ul><li><a href='/a'>x</a></li></ul>", url=SPP, selector=bad or ",")


# --- pagination -----------------------------------------------------------------------------------


def test_pagination_styles() -> None:
    trs = '<div><script>createPageHTML(3, 0, "index", "shtml");</script></div>'
    assert pagination_urls(SPP, trs, depth=10) == [SPP_DIR + "index_1.shtml", SPP_DIR + "index_2.shtml"]
    pager = "<script>new Pager({size: 4, current: 1, prefix: 'index', suffix: 'htm'});</script>"
    url = "https://www.example.gov.cn/zxgk/index_1.htm"
    assert pagination_urls(url, pager, depth=10) == [
        "https://www.example.gov.cn/zxgk/index_2.htm",
        "https://www.example.gov.cn/zxgk/index_3.htm",
    ]
    counted = "<p>共 4 页 当前第 1 页</p>"
    assert pagination_urls("http://a.gov.cn/l/index.html", counted, depth=3) == [
        "http://a.gov.cn/l/index_1.html",
        "http://a.gov.cn/l/index_2.html",
    ]
    assert pagination_urls("http://a.gov.cn/l/list.jsp", counted, depth=3) == []  # no index_N pattern
    last = '<a href="./index_2.shtml">尾页</a><a href="index_1.html">other kind</a>'
    assert pagination_urls(SPP, last, depth=9) == [SPP_DIR + "index_1.shtml", SPP_DIR + "index_2.shtml"]
    nexts = '<a href="?page=2" class="next"></a><a href="?page=9">最后</a>'
    assert pagination_urls("http://a.gov.cn/l/", nexts, depth=5) == ["http://a.gov.cn/l/?page=2"]
    for text in ("下一页", "下页", "Next", "›", "下一页>>"):
        html = f'<a href="p2.html">{text}</a>'
        assert pagination_urls("http://a.gov.cn/l/p1.html", html, depth=2) == ["http://a.gov.cn/l/p2.html"]


def test_pagination_never_the_page_itself_nor_off_site_nor_javascript() -> None:
    html = """<a href="index.shtml">下一页</a><a href="https://evil.example.com/index_1.shtml">下一页</a>
              <a href="javascript:nextPage()">下一页</a><a href="#">下一页</a>"""
    assert pagination_urls(SPP, html, depth=5) == []
    assert pagination_urls(SPP, '<a href="./index.shtml#top">next</a>', depth=5) == []
    selfish = '<script>createPageHTML(1, 0, "index", "shtml")</script>'
    assert pagination_urls(SPP, selfish, depth=5) == []
    assert pagination_urls(SPP, "<script>createPageHTML(99999999, 0, 'index', 'shtml')</script>", depth=10**9)


def test_pagination_ignores_the_createpagehtml_definition() -> None:
    html = """<script>function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
        if(_nPageCount == null || _nPageCount<=1){ return; } }
        createPageHTML(2, 0, "index", "shtml");</script>"""
    assert pagination_urls(SPP, html, depth=9) == [SPP_DIR + "index_1.shtml"]


def _site_of_pages(pages: dict[str, str]) -> tuple[list[str], object]:
    fetched: list[str] = []

    def fetch(url: str) -> str | None:
        fetched.append(url)
        return pages.get(url)

    return fetched, fetch


def test_walk_follows_next_links_and_cannot_loop() -> None:
    a, b, c = (f"http://x.gov.cn/l/{n}.html" for n in "abc")
    pages = {
        a: '<a href="b.html">下一页</a>',
        b: '<a href="a.html">下一页</a><a href="c.html#x">next</a>',
        c: '<a href="a.html">下一页</a><a href="b.html">next</a>',
    }
    fetched, fetch = _site_of_pages(pages)
    walked = [url for url, _ in walk_list_pages(a, pages[a], fetch, depth=50)]  # type: ignore[arg-type]
    assert walked == [a, b]  # b's first next-page anchor points back to a: the walk ends there
    assert fetched == [b]


def test_walk_of_endless_pagination_stops_at_depth() -> None:
    fetched: list[str] = []

    def endless(url: str) -> str:
        fetched.append(url)
        n = int(re.search(r"(\d+)\.html", url).group(1))  # type: ignore[union-attr]
        return f'<a href="p{n + 1}.html">下一页</a><a href="p{n}.html">next</a>'

    start = "http://x.gov.cn/l/p0.html"
    walked = list(walk_list_pages(start, endless(start), endless, depth=4))
    assert [url for url, _ in walked] == [f"http://x.gov.cn/l/p{n}.html" for n in range(4)]
    assert len(fetched) == 4  # the first page (by this test) and three more
    assert list(walk_list_pages(start, endless(start), endless, depth=1)) == [(start, endless(start))]


def test_walk_skips_pages_that_fail() -> None:
    html = '<script>createPageHTML(4, 0, "index", "shtml")</script>'
    pages = {SPP_DIR + "index_2.shtml": "<p>2</p>"}
    fetched, fetch = _site_of_pages(pages)
    walked = [url for url, _ in walk_list_pages(SPP, html, fetch, depth=3)]  # type: ignore[arg-type]
    assert walked == [SPP, SPP_DIR + "index_2.shtml"]
    assert fetched == [SPP_DIR + "index_1.shtml", SPP_DIR + "index_2.shtml"]


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   \n\t",
        "<html></html>",
        "plain text, no markup at all",
        "\x00\x01\x02\x03 binary \xff\xfe",
        '<?xml version="1.0" encoding="gb2312"?><html><body><p>x</p></body></html>',
        "<html><body><ul><li><a href=",
        "<a href='javascript:void(0)'>2023-12-01 一条看似文章的链接</a>",
        "<ul><li><a href='mailto:x@y.cn'>写信给我们的网站管理员</a><span>2023-12-01</span></li></ul>",
        "<" * 10_000,
        "<div>" * 20_000 + "<a href='/1/t20231201_1.html'>深处</a>",
        "<a href='http://[::1'>坏地址的链接文字很长很长</a><span>2023-12-01</span>",
    ],
)
def test_hostile_input_gives_an_empty_list_page(html: str) -> None:
    page = parse_list_page(html, url=SPP, now=NOW)
    assert page.links == () and page.attachments == ()
    assert page.next_pages == ()


def test_broken_html_still_gives_its_links() -> None:
    unclosed = (
        "<table><tr><td><a href=./202312/t20231201_1.shtml>未闭合的标题一<td>2023-12-01"
        "<tr><td><a href=./202312/t20231202_2.shtml>未闭合的标题二<td>2023-12-02</table></div></div><p><b><i>x"
    )
    page = parse_list_page(unclosed, url=SPP, now=NOW)
    assert [(link.title, link.date) for link in page.links] == [
        ("未闭合的标题一", bj(2023, 12, 1)),
        ("未闭合的标题二", bj(2023, 12, 2)),
    ]
    # Nested by the parser into one another: no dates can be told apart, the links are still there.
    nested = (
        "<ul><li><a href=./202312/t20231201_1.shtml>未闭合的标题一<span>2023-12-01"
        "<li><a href=./202312/t20231202_2.shtml>未闭合的标题二</a>2023-12-02"
    )
    page = parse_list_page(nested, url=SPP, now=NOW)
    assert [link.url.rsplit("_", 1)[-1] for link in page.links] == ["1.shtml", "2.shtml"]


def test_huge_page_of_links_is_bounded_and_fast() -> None:
    item = '<li><a href="./202312/t20231201_{n}.shtml">第{n}号公告的标题文字</a><span>2023-12-01</span></li>'
    html = "<ul>" + "".join(item.format(n=n) for n in range(60_000)) + "</ul>"
    assert len(html) > 5_000_000
    started = time.monotonic()
    page = parse_list_page(html, url=SPP, now=NOW)
    assert time.monotonic() - started < 30
    assert len(page.links) == MAX_LINKS
    assert page.links[0].url == SPP_DIR + "202312/t20231201_0.shtml"
    nav = "<div>" + "".join(f'<a href="/c{n}/">栏目{n}</a>' for n in range(200_000)) + "</div>"
    assert len(nav) > 5_000_000
    assert parse_list_page(nav, url=SPP, now=NOW).links == ()


# --- the real list pages --------------------------------------------------------------------------

REAL_NOW = datetime(2020, 8, 2, 18, 0, tzinfo=BJ)  # when the gne pages were saved


def test_real_tieba_thread_list() -> None:
    html = (REAL / "tieba" / "1.html").read_text(encoding="utf-8")
    url = "https://tieba.baidu.com/f?kw=%E8%B4%B4%E5%90%A7%E7%83%AD%E8%AE%AE&ie=utf-8"
    page = parse_list_page(html, url=url, now=REAL_NOW)
    assert 25 <= len(page.links) <= 31  # the thread list, one page
    assert all(re.fullmatch(r"https://tieba\.baidu\.com/p/\d+", link.url) for link in page.links)
    assert page.links[0].title == "独家采访！江苏男子订铁笼自杀，因抑郁症15次医院就诊，好友知其要自杀未报警"
    assert page.links[0].date == bj(2020, 8, 1)  # "8-1", year from when the page was read
    assert all(link.date and bj(2020, 1, 1) <= link.date <= REAL_NOW for link in page.links)
    assert page.next_pages[0].endswith("&pn=50")


def test_real_discuz_forum_list() -> None:
    html = (REAL / "netease_forum" / "1.html").read_text(encoding="utf-8")
    page = parse_list_page(html, url="https://n.netease.com/forum-9-1.html", now=REAL_NOW)
    assert len(page.links) == 15
    assert all(re.fullmatch(r"https://n\.netease\.com/thread-\d+-1-1\.html", link.url) for link in page.links)
    assert page.links[0].title == "逆水寒官方&玩家信息沟通渠道公告"
    assert page.links[2] == ArticleLink(
        "https://n.netease.com/thread-202512-1-1.html", "这次藏宝阁买号送改名卡", bj(2020, 7, 17)
    )
    assert not any("新窗口打开" in link.title for link in page.links)
    assert page.next_pages[:2] == (
        "https://n.netease.com/forum-9-2.html",
        "https://n.netease.com/forum-9-3.html",
    )


@pytest.mark.parametrize(("name", "low", "high"), [("1.html", 40, 80), ("2.html", 60, 110)])
def test_real_news_front_page_without_dates(name: str, low: int, high: int) -> None:
    html = (REAL / "163" / name).read_text(encoding="utf-8")
    page = parse_list_page(html, url="https://news.163.com/", now=REAL_NOW)
    assert low <= len(page.links) <= high
    assert all(link.url.startswith(("https://news.163.com/", "http://news.163.com/")) for link in page.links)
    assert all(re.search(r"\d{5}", link.url) for link in page.links)
    assert all(len(link.title) >= 5 for link in page.links)
    assert page.skipped_offsite > 50  # articles on money.163.com, sports.163.com ... are other sites
    titles = {link.title for link in page.links}
    assert not titles & {"首页", "新闻", "网易首页", "国内", "国际"}


def test_date_inside_the_anchor_is_not_part_of_the_title_and_times_are_kept() -> None:
    html = """<div class="news"><ul>
      <li><a href="./202312/t20231201_1.shtml"><span class="t">关于第12-1号文件的解读</span><span>2023-12-01 08:30</span></a></li>
      <li><a href="./202312/t20231202_2.shtml"><span class="t">关于开展专项检查的通知</span><span>[2023-12-02]</span></a></li>
    </ul></div>"""
    page = parse_list_page(html, url=SPP, now=NOW)
    assert [(link.title, link.date) for link in page.links] == [
        ("关于第12-1号文件的解读", datetime(2023, 12, 1, 8, 30, tzinfo=BJ)),
        ("关于开展专项检查的通知", bj(2023, 12, 2)),
    ]
