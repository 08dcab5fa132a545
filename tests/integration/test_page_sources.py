"""A replica official site on 127.0.0.1 with no feed: list pages with pagination, article pages with and
without the government meta tags, GB18030 and UTF-8, robots.txt. `syndication run --once` with two
worker processes on real Redis: every article lands in the channel once with its title, time, 来源 and
body; robots.txt is honoured; no host is asked faster than its rate; a second run fetches nothing new."""

from __future__ import annotations

import itertools
import re
from urllib.parse import unquote

from tests.integration.conftest import Deployment, channel_toml
from tests.integration.test_run_once import parse, summary
from tests.servers import Origin

BODY = "最高人民检察院部署开展专项工作，要求各级检察机关依法履职，切实维护人民群众合法权益。" * 4


# The first article links a PDF in its body: it must reach the feeds as an enclosure.
PDF_HREF, PDF_TITLE = "W020231201_名单.pdf", "附件1：第一批指导性案例名单.pdf"


def article(
    title: str,
    date: str,
    source: str | None,
    *,
    meta: bool,
    charset: str = "utf-8",
    attachment: tuple[str, str] | None = None,
) -> bytes:
    head = f'<meta charset="{charset}"><title>{title}_最高人民检察院</title>'
    if meta:
        head += (
            f'<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{date}">'
            f'<meta name="ContentSource" content="{source}"><meta name="ColumnName" content="检察要闻">'
        )
    byline = "" if meta else f"<div class='info'>发布时间：{date}　来源：{source}</div>"
    link = f'<p><a href="{attachment[0]}">{attachment[1]}</a></p>' if attachment else ""
    html = (
        f"<!doctype html><html><head>{head}</head><body>"
        "<div class='nav'><a href='/'>首页</a><a href='/spp/zdgz/index.shtml'>要闻</a></div>"
        f"<h1>{title}</h1>{byline}<div class='TRS_Editor'><p>{BODY}</p><p>（记者张三）</p>{link}</div>"
        "<div class='share'>分享到：微信 微博</div><div class='footer'>版权所有：最高人民检察院</div>"
        "</body></html>"
    )
    return html.encode("gb18030" if charset == "gb2312" else "utf-8")


def list_page(items: list[tuple[str, str, str]], *, next_page: str | None) -> bytes:
    lis = "".join(
        f'<li><a href="{href}" target="_blank">{title}</a><span>{date}</span></li>'
        for href, title, date in items
    )
    pager = f'<div class="page"><a href="{next_page}">下一页</a></div>' if next_page else ""
    nav = "".join(f"<a href='/spp/{n}/index.shtml'>栏目{n}</a>" for n in range(8))
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>检察要闻</title></head><body><div class="nav">{nav}</div>'
        f'<ul class="li_line">{lis}</ul>{pager}<div class="footer"><a href="http://www.court.gov.cn/">最高法</a></div>'
        "</body></html>"
    ).encode()


ARTICLES = [
    (
        "./202312/t20231201_1.shtml",
        "最高检发布第一批指导性案例",
        "2023-12-01 08:30",
        "检察日报",
        True,
        "utf-8",
    ),
    (
        "./202312/t20231202_2.shtml",
        "最高检召开党组会议",
        "2023-12-02 09:00",
        "最高人民检察院",
        True,
        "gb2312",
    ),
    # before 08:00 Beijing time: the previous day in UTC (preview must show the site's date)
    ("./202312/t20231203_3.shtml", "检察机关开展专项监督", "2023-12-03 07:15", "正义网", False, "utf-8"),
    ("./202312/t20231204_4.shtml", "湖北检察人才队伍建设", "2023-12-04 11:00", "检察日报", False, "gb2312"),
    ("./private/t20231205_5.shtml", "不允许抓取的页面", "2023-12-05 12:00", "内部", True, "utf-8"),
]


def build_site(origin: Origin) -> None:
    origin.add("/robots.txt", b"User-agent: *\nDisallow: /spp/zdgz/private/\n", content_type="text/plain")
    rows = [(a[0], a[1], a[2][:10]) for a in ARTICLES]
    origin.add(
        "/spp/zdgz/index.shtml", list_page(rows[:3], next_page="index_1.shtml"), content_type="text/html"
    )
    origin.add("/spp/zdgz/index_1.shtml", list_page(rows[3:], next_page=None), content_type="text/html")
    for href, title, date, source, meta, charset in ARTICLES:
        path = "/spp/zdgz/" + href.removeprefix("./")
        ctype = "text/html; charset=" + ("gb2312" if charset == "gb2312" else "utf-8")
        pdf = (PDF_HREF, PDF_TITLE) if href == ARTICLES[0][0] else None
        page = article(title, date, source, meta=meta, charset=charset, attachment=pdf)
        origin.add(path, page, content_type=ctype)


def configure(d: Deployment, origin: Origin) -> None:
    d.write_config(
        '[[sources]]\nid = "spp"\nname = "最高人民检察院"\nkind = "page"\n'
        f'url = "{origin.url("/spp/zdgz/index.shtml")}"\npages = 3\nrate = 4\ntimezone = "Asia/Shanghai"\n\n'
        + channel_toml("news", "检察要闻", ["spp"])
    )


def test_a_page_source_end_to_end(deployment: Deployment, origin: Origin, redis_url: str) -> None:
    d = deployment
    d.env.update(SYNDICATION_BROKER_URL=redis_url)
    build_site(origin)
    configure(d, origin)
    out = d.run("run", "--once", "--timeout", "120", "-c", "2")
    s = summary(out.stdout)
    assert (s["polled"], s["failed"], s["new"]) == (1, 0, 4), out.stdout + out.stderr

    rss = parse(d.run("feed", "news").stdout.encode())
    by_title = {e.title: e for e in rss.entries}
    assert set(by_title) == {a[1] for a in ARTICLES[:4]}
    for _href, title, date, source, _meta, _charset in ARTICLES[:4]:
        html = by_title[title].description
        assert f"发布时间：{date}" in html, (title, html[:400])
        assert f"来源：{source}" in html, (title, html[:400])
        assert "最高人民检察院部署开展专项工作" in html
        assert "分享到" not in html and "首页" not in html  # navigation and share bars left out

    # The PDF linked from the first article is an enclosure of its item (and of no other), in RSS and
    # in Atom (with its link text as title); it is never fetched.
    pdf_url = origin.url("/spp/zdgz/202312/" + PDF_HREF)
    first = by_title[ARTICLES[0][1]]
    assert [(unquote(e.href), e.type) for e in first.enclosures] == [(pdf_url, "application/pdf")]
    assert not any(e.enclosures for t, e in by_title.items() if t != ARTICLES[0][1])
    # the body links the file itself, so the template does not list it a second time
    assert PDF_TITLE in first.description and first.description.count("名单.pdf") == 1, first.description
    atom = parse(d.run("feed", "news", "--format", "atom").stdout.encode())
    (atom_first,) = [e for e in atom.entries if e.title == ARTICLES[0][1]]
    assert [(unquote(e.href), e.get("title")) for e in atom_first.enclosures] == [(pdf_url, PDF_TITLE)]

    paths = [r.path for r in origin.requests]
    assert paths.count("/robots.txt") == 1
    assert not any(p.endswith(".pdf") for p in paths)  # an attachment is linked to, never fetched
    assert not any("/private/" in p for p in paths)  # robots.txt respected
    assert all(paths.count(p) == 1 for p in set(paths)), paths  # nothing fetched twice
    times = sorted(r.time for r in origin.requests)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.25 * 0.9, gaps  # rate = 4/s for the host, even with two worker processes

    origin.clear_log()
    again = d.run("run", "--once", "--timeout", "60")
    assert summary(again.stdout)["new"] == 0
    assert [r.status for r in origin.requests if r.path != "/robots.txt"] == [304]


def test_preview_changes_nothing(deployment: Deployment, origin: Origin, redis_url: str) -> None:
    d = deployment
    d.env.update(SYNDICATION_BROKER_URL=redis_url)
    build_site(origin)
    configure(d, origin)
    d.run("db", "upgrade")
    out = d.run("preview", "spp")
    assert "最高检召开党组会议" in out.stdout and "来源：检察日报" in out.stdout, out.stdout
    assert "links found: 5" in out.stdout, out.stdout
    assert re.search(r"检察机关开展专项监督 .* 2023-12-03$", out.stdout, re.M), out.stdout
    assert "robots.txt" in out.stdout and "disallows" in out.stdout, out.stdout
    assert "no sources yet" in d.run("sources").stdout  # nothing stored
    first = d.run("run", "--once", "--timeout", "120")
    assert summary(first.stdout)["new"] == 4  # preview stored nothing
