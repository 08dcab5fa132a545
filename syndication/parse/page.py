"""Extract one article from a saved or fetched HTML page, with no per-site code.

Each field is taken from the most trusted place that has it (issue 3):

1. the per-source CSS selectors (:class:`Selectors`), when configured;
2. the government-site meta tags (``ArticleTitle``, ``PubDate``, ``ContentSource``, ``Author``,
   ``ColumnName``, any case) and the usual CMS body containers (``div.TRS_Editor``, ``#zoom``, ...);
3. structured data and common meta (JSON-LD, Open Graph, ``article:published_time``, ``<time>``);
4. the page itself: the headline that the ``<title>`` repeats, the date and bylines (``来源：``,
   ``作者：``, ``（记者X 通讯员Y）``, ``文/X``, ``责任编辑：``) written between the headline and the body,
   and a main-content extractor (text-density / link-density scoring, see :func:`find_main_body`).

The body is cleaned of share bars, print/close links, related-article lists and hidden elements, then
sanitized with :func:`syndication.process.sanitize.sanitize_html` against the page URL (or ``<base>``).
"""

from __future__ import annotations

import copy
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from zoneinfo import ZoneInfo

import lxml.html
from lxml import etree
from lxml.etree import XPath

from syndication.errors import ParseError
from syndication.fetch.encoding import decode_bytes
from syndication.models import Attachment
from syndication.parse import bylines
from syndication.parse.govmeta import URL_DATE, PageMeta, css_xpath, date_in_text, read_meta
from syndication.process.normalize import parse_datetime
from syndication.process.sanitize import html_to_text, sanitize_html

__all__ = [
    "MAX_PAGE_BYTES",
    "ExtractedArticle",
    "Selectors",
    "extract_article",
    "find_main_body",
    "is_binary_url",
]

MAX_PAGE_BYTES = 10 * 1024 * 1024

# The usual CMS body containers, most specific first (TRS WCM, UCAP, Hanweb, common templates).
CMS_BODIES = (
    ".TRS_Editor", ".TRS_UEDITOR", ".trs_editor_view", ".trs_paper_default", "#UCAP-CONTENT", "#zoom",
    ".pages_content", ".article-content", ".article_content", "#article_content", ".artical-content",
    "#artibody", ".article-body", ".news_content", ".news-content", "#news_content", ".detail-content",
    ".content_text", "#content_text", "#text", ".view", "#vsb_content", "#fontzoom", ".wzy_con",
)  # fmt: skip
_MIN_CMS_CHARS = 20
_BINARY_EXT = re.compile(
    r"\.(?:pdf|docx?|xlsx?|pptx?|wps|et|dps|ofd|ceb|zip|rar|7z|tar|gz|tgz|txt|csv|rtf|odt|ods)$", re.I
)
_TITLE_SEPARATORS = re.compile(r"\s*(?:_|\||｜|--|—|－|\s[-–]\s|\s::\s)\s*")
_SITE_SEPARATORS = re.compile(r"\s+(?:[-|–—·]|::)\s+|\s*[_｜]\s*")
_BLOCKS = {"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "section", "article", "header", "footer", "dd", "dt", "blockquote", "pre"}  # fmt: skip  # fmt: skip
_JUNK = XPath("//script|//style|//noscript|//iframe|//frame|//object|//embed|//template|//link|//svg")
_NOT_CONTAINERS = {"html", "head", "title", "frameset", "noframes", "meta", "script", "style"}
_CLOSING_ROOT = re.compile(r"</(?:html|body)\s*>", re.I)


@dataclass(frozen=True)
class Selectors:
    """Per-source CSS selectors; each overrides everything else for its field."""

    title: str | None = None
    body: str | None = None
    published: str | None = None
    source: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class ExtractedArticle:
    title: str | None
    url: str
    published: datetime | None  # tz-aware, UTC
    source: str | None  # 来源: the original publisher
    author: str | None
    editor: str | None  # 责任编辑
    category: str | None  # ColumnName, article:section, ...
    content_html: str  # sanitized, absolute URLs
    content_text: str
    rights_notice: str | None  # e.g. 未经授权，禁止转载
    attachments: tuple[Attachment, ...] = ()
    images: tuple[str, ...] = ()

    def to_json(self, tz: str = "Asia/Shanghai", *, full: bool = False) -> dict[str, Any]:
        """The ``syndication extract --json`` object: exactly the keys of issue 3 (``published`` is ISO
        8601 with the offset of ``tz``); ``full`` adds ``editor``, ``attachments`` and ``images``."""
        published = self.published.astimezone(ZoneInfo(tz)).isoformat() if self.published else None
        data: dict[str, Any] = {
            "title": self.title,
            "url": self.url,
            "published": published,
            "source": self.source,
            "author": self.author,
            "category": self.category,
            "content_text": self.content_text,
            "content_html": self.content_html,
            "rights_notice": self.rights_notice,
        }
        if full:
            data["editor"] = self.editor
            data["attachments"] = [a.to_json() for a in self.attachments]
            data["images"] = list(self.images)
        return data


def extract_article(
    content: bytes | str,
    *,
    url: str,
    content_type: str | None = None,
    selectors: Selectors | None = None,
    tz: str = "Asia/Shanghai",
) -> ExtractedArticle:
    """Extract the article of one HTML page fetched from ``url``.

    Raises ParseError for pages larger than :data:`MAX_PAGE_BYTES`, bytes that cannot be decoded, and
    pages that are not articles (no body found, or an empty one).
    """
    size = len(content.encode("utf-8", "surrogatepass")) if isinstance(content, str) else len(content)
    if size > MAX_PAGE_BYTES:
        raise ParseError(f"page too large: {size:,} bytes (the limit is {MAX_PAGE_BYTES:,})")
    text = decode_bytes(content, content_type=content_type)[0] if isinstance(content, bytes) else content
    root = _parse(text)
    sel = selectors or Selectors()
    base = _base_url(root, url)
    meta = read_meta(root)
    for el in _JUNK(root):
        _drop(el)
    etree.strip_elements(root, etree.Comment, etree.ProcessingInstruction, with_tail=False)

    page_title = _page_title(root)
    heading = _heading(root, page_title)
    node = _select(root, sel.body) if sel.body else None
    if node is None:
        node = _cms_body(root)
    if node is not None and node.getparent() is None:  # <html class="view">: its body is the body
        node = root.find("body")
    main = node
    if node is not None and not sel.body and _link_density(node) > 0.3:
        # A CMS container that also wraps link lists (recommendations, the site footer): the text
        # within it, found as on any page.
        node, main = find_main_body(root, within=node) or (node, node)
    if node is None:
        found = find_main_body(root) or _fallback_body(root)
        if found is None:
            raise ParseError("not an article: no main text found on the page")
        node, main = found

    title, heading = _title(root, sel, meta, page_title, heading, node)
    header_text, after_text, page_text = _page_text(root, heading, node)
    after_text = after_text[:3000]
    body = clean_body(main, _text_of(heading) if heading is not None else None)
    attachments = _attachments(root, body, node, base)
    content_html = sanitize_html(lxml.html.tostring(body, encoding="unicode"), base_url=base)
    content_text = html_to_text(content_html)
    size = len(_SPACES.sub("", content_text))
    shortest = 1 if sel.body else _MIN_FALLBACK_CHARS  # the operator's selector may pick a short body
    if size < shortest and not attachments and "<img" not in content_html:
        raise ParseError(
            f"not an article: the body has only {size} characters"
            if size
            else "not an article: the body is empty"
        )
    head, tail = content_text[:300], content_text[-400:]

    source = bylines.clean_name(
        _selected_text(root, sel.source)
        or meta.gov.get("source")
        or bylines.strip_label(meta.common.get("source"))
        or bylines.find_source(header_text)
        or _class_source(root, node)
        or bylines.find_source(head + "\n" + tail)
        or bylines.find_source(after_text[:600])
    )
    author = bylines.clean_name(
        _selected_text(root, sel.author)
        or meta.gov.get("author")
        or next(
            (
                name
                for name in (
                    bylines.plain_author(value, page_title, meta.common.get("site_name"), source)
                    for value in meta.authors
                )
                if name
            ),
            None,
        )
        or bylines.find_author(header_text)
        or _class_author(root, node)
        or bylines.find_author(head + "\n" + tail)
        or _english_byline(root)
        or bylines.find_closing_author(content_text[-200:])
    )
    return ExtractedArticle(
        title=_clean_title(title, meta.common.get("site_name"), url),
        url=url,
        published=_published(root, sel, meta, header_text, head + "\n" + after_text[:200], url, tz),
        source=source,
        author=author,
        editor=bylines.find_editor(_block_text(node)[-600:] + "\n" + after_text[:600])
        or bylines.find_editor(header_text)
        or bylines.find_editor(after_text, responsible_only=True),
        category=bylines.clean_name(meta.get("category")),
        content_html=content_html,
        content_text=content_text,
        rights_notice=bylines.find_rights_notice(page_text),
        attachments=attachments,
        images=tuple(dict.fromkeys(re.findall(r'<img\b[^>]*?\bsrc="([^"]+)"', content_html))),
    )


# --- parsing ----------------------------------------------------------------------------------------


def _parse(text: str) -> lxml.html.HtmlElement:
    text = text.replace("\x00", "").removeprefix("\ufeff")
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # lxml refuses str input with an encoding declaration
    # A stray </html> or </body> half-way (copy-pasted templates) makes libxml2 drop the rest of the
    # page; the parser closes both by itself at the end.
    text = _CLOSING_ROOT.sub("", text)
    if not text.strip():
        raise ParseError("not an article: the page is empty")
    try:
        root = lxml.html.document_fromstring(text, parser=lxml.html.HTMLParser(remove_comments=True))
    except (etree.ParserError, ValueError) as e:
        raise ParseError(f"cannot parse the page as HTML: {e}") from e
    if root is None:
        raise ParseError("cannot parse the page as HTML")
    return root


def _drop(el: etree._Element) -> None:
    """Remove ``el`` and its content, keeping the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _base_url(root: etree._Element, url: str) -> str:
    for el in root.iter("base"):
        href = (el.get("href") or "").strip()
        if href:
            try:
                return urljoin(url, href)
            except ValueError:
                break
    return url


def _select(root: etree._Element, selector: str | None) -> etree._Element | None:
    if not selector:
        return None
    found = css_xpath(selector)(root)
    return found[0] if found else None


def _selected_text(root: etree._Element, selector: str | None) -> str | None:
    el = _select(root, selector)
    if el is None:
        return None
    return _text_of(el) or (el.get("content") or el.get("datetime") or "").strip() or None


def _text_of(el: etree._Element) -> str:
    return " ".join("".join(el.itertext()).split())


def _cms_body(root: etree._Element) -> etree._Element | None:
    """The first usual CMS body container with content; when another one sits inside it and holds a
    good part of its text that is not links, or the outer one is mostly links (``#artibody`` in
    ``.article-content``), that inner one: the outer one also wraps comments and recommendations."""
    found: list[tuple[etree._Element, float]] = []
    for selector in CMS_BODIES:
        for el in css_xpath(selector)(root):
            if el.tag in _NOT_CONTAINERS:
                continue
            size = len(re.sub(r"\s+", "", _text_of(el)))
            if size >= _MIN_CMS_CHARS or el.xpath(".//img|.//a[@href]"):
                found.append((el, size * (1 - _link_density(el))))
    if not found:
        return None
    best, plain = found[0]
    for el, inner in found[1:]:
        if (
            el is not best
            and best in el.iterancestors()
            and (inner >= 0.3 * plain or _link_density(best) > 0.5)
        ):
            best, plain = el, inner
    return best


# --- title ------------------------------------------------------------------------------------------


def _title(
    root: etree._Element,
    sel: Selectors,
    meta: PageMeta,
    page_title: str,
    heading: etree._Element | None,
    node: etree._Element,
) -> tuple[str | None, etree._Element | None]:
    """The title, and the headline element the date and bylines follow: the selector's, the gov
    meta's, Open Graph / JSON-LD, the headline the ``<title>`` repeats, the ``<title>``'s first
    segment; when those give only a column or site name (新闻动态, 中国地理学会: under 8 characters),
    the last heading before the body."""
    heading_text = _text_of(heading) if heading is not None else None
    if heading_text and page_title and not _repeats(page_title, heading_text):
        heading_text = None  # an h1 the <title> does not repeat: the <title> names the page better
    common_title = meta.common.get("title") or next(
        (t for t in meta.ld_titles if page_title and _repeats(page_title, t)), None
    )
    if common_title and heading_text and common_title in heading_text:
        common_title = heading_text  # meta content cut at an unescaped quote, or a shortened headline
    from_page_title = _split_title(page_title)
    # A headline the <title> opens with is trusted however short (停水通知_某某市水务局).
    opens_title = bool(heading_text and from_page_title and _repeats(from_page_title, heading_text))
    if not opens_title and (
        not from_page_title or len(from_page_title) < 8 or (heading_text and len(heading_text) < 8)
    ):
        before = _heading_before(root, node)
        if before is not None:
            from_page_title, heading = _text_of(before), before
            heading_text = heading_text if heading_text and len(heading_text) >= 8 else None
    title = (
        _selected_text(root, sel.title)
        or meta.gov.get("title")
        or common_title
        or heading_text
        or from_page_title
        or (_text_of(heading) if heading is not None else None)
    )
    return title, heading


def _page_title(root: etree._Element) -> str:
    el = root.find(".//title")
    return _text_of(el) if el is not None else ""


_HEADINGS = XPath(
    "//h1|//h2|//h3|//h4|//h5|//h6|//*[contains(translate(@class,'TITLE','title'),'title')"
    " or contains(translate(@id,'TITLE','title'),'title')]"
)
_TEXT_HOLDERS = XPath("//span|//td|//font|//strong|//b|//div|//p")


def _heading(root: etree._Element, page_title: str) -> etree._Element | None:
    """The headline element: the longest heading (h1-h6, or a *title* class or id, any case) that the
    ``<title>`` repeats as most of one of its segments (:func:`_names_most_of`); else the longest plain
    text element (a table cell, a span: old CMS templates) of 8 characters or more that it repeats;
    else the first h1."""
    first_h1: etree._Element | None = None
    sizes = _text_sizes(root)
    squeezed_title = len(re.sub(r"\s+", "", page_title))
    for candidates, shortest in ((_HEADINGS, 4), (_TEXT_HOLDERS, 8)):
        best: etree._Element | None = None
        best_len = 0
        for el in candidates(root):
            size = sizes.get(el, (0, 0))[0]
            if not (shortest <= size <= 200) or (el.tag != "h1" and size > squeezed_title):
                continue  # too short or long for a headline, or longer than the <title>: no text needed
            text = re.sub(r"\s+", "", _text_of(el))
            if el.tag == "h1" and first_h1 is None:
                first_h1 = el
            if len(text) > best_len and _names_most_of(text, page_title):
                best, best_len = el, len(text)
        if best is not None:
            return best
    return first_h1


def _names_most_of(text: str, page_title: str) -> bool:
    """``text`` (squeezed) is at least half of a ``<title>`` segment that holds it, or of the whole
    ``<title>``: the headline, not the site name or column the ``<title>`` also names."""
    squeezed = re.sub(r"\s+", "", page_title)
    if text not in squeezed:
        return False
    segments = [re.sub(r"\s+", "", p) for p in _TITLE_SEPARATORS.split(page_title)]
    return any(text in seg and 2 * len(text) >= len(seg) for seg in segments) or 2 * len(text) >= len(
        squeezed
    )


def _heading_before(root: etree._Element, node: etree._Element) -> etree._Element | None:
    """The last heading (h1-h6) before the body: the headline of a page whose ``<title>`` names only
    the column (``新闻动态--中国地理学会官网``)."""
    found = None
    for el in root.iter():
        if el is node:
            break
        if (
            el.tag in ("h1", "h2", "h3", "h4", "h5", "h6")
            and 8 <= len(re.sub(r"\s+", "", _text_of(el))) <= 100
            and _link_density(el) < 0.5
        ):
            found = el
    return found


def _split_title(page_title: str) -> str | None:
    parts = [p for p in _TITLE_SEPARATORS.split(page_title) if p.strip()]
    if not parts:
        return None
    return parts[0] if len(parts[0]) >= 4 else page_title


def _repeats(page_title: str, text: str) -> bool:
    return re.sub(r"\s+", "", text) in re.sub(r"\s+", "", page_title)


def _clean_title(title: str | None, site_name: str | None, url: str) -> str | None:
    """The title with whitespace collapsed and a leading or trailing site name (``… - BBC News``) cut off:
    a segment that og:site_name starts with, or that names the URL's host."""
    if not title:
        return None
    title = " ".join(title.split())
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    site = " ".join((site_name or "").split()).lower()
    parts = _SITE_SEPARATORS.split(title)
    if len(parts) >= 2:
        for kept, cut in ((title[: title.rfind(parts[-1])], parts[-1]), (title[len(parts[0]) :], parts[0])):
            name = cut.strip().lower()
            squeezed = re.sub(r"[^\w.]", "", name)
            if name and (
                (site and site.startswith(name))
                or (len(squeezed) >= 3 and (squeezed == host or squeezed == host.split(".")[0]))
            ):
                rest = re.sub(r"^(?:\s*(?:[-|–—·_｜]|::)\s*)+|(?:\s*(?:[-|–—·_｜]|::)\s*)+$", "", kept)
                if len(rest) >= 4:
                    return rest
    return title or None


_SOURCE_CLASS = re.compile(r"(?:^|\s)(?:[a-z]+[-_])?source(?:\s|$)", re.I)
_AUTHOR_CLASS = re.compile(r"(?:^|\s)(?:[a-z]+[-_])?author(?:[-_]name)?(?:\s|$)", re.I)


def _class_source(root: etree._Element, node: etree._Element) -> str | None:
    """The publisher in an element named for it before the body (``<span class="a_source">棱镜</span>``):
    a ``来源：`` line, or a short text without digits or separators."""
    return _named_before(root, node, _SOURCE_CLASS, bylines.find_source, ("来源", "稿源"))


def _class_author(root: etree._Element, node: etree._Element) -> str | None:
    """The author in an element named for it before the body (``<p class="author-name">加拿大必读</p>``)."""
    return _named_before(root, node, _AUTHOR_CLASS, bylines.find_author, ("作者", "记者"))


def _named_before(
    root: etree._Element,
    node: etree._Element,
    names: re.Pattern[str],
    labelled: Callable[[str], str | None],
    bare_labels: tuple[str, ...],
) -> str | None:
    for el in root.iter():
        if el is node:
            break
        if el.tag in ("meta", "script", "link") or not names.search(
            f"{el.get('class') or ''} {el.get('id') or ''}"
        ):
            continue
        if any(a.tag in ("li", "a") for a in el.iterancestors()):
            continue  # an item of a list (a sidebar's "hot news" with their sources), not the page's
        text = _text_of(el)
        if not text or len(text) > 40:
            continue
        found = labelled(text)
        if found:
            return found
        if 2 <= len(text) <= 30 and not re.search(r"[\d:：|｜/]", text) and text not in bare_labels:
            return text if re.search(r"[\u4e00-\u9fff]", text) else _latin_byline(text)
    return None


_UI_WORDS = {"follow", "author", "authors", "share", "subscribe", "more", "profile", "about", "contact", "home", "login"}  # fmt: skip


def _latin_byline(text: str) -> str | None:
    """A byline without Chinese: a person's name ("By Jane Doe" -> "Jane Doe"), or a pen name of one
    word (kingname); not a button ("Follow")."""
    name = bylines.english_name(text)
    if name:
        return name
    word = re.sub(r"^(?:by|par|von)\s+", "", text, flags=re.I)
    return word if re.fullmatch(r"[A-Za-z][\w.-]{2,29}", word) and word.lower() not in _UI_WORDS else None


_BYLINE_XPATH = XPath(
    "//*[@rel='author' or contains(@itemprop,'author') or contains(@class,'byline')"
    " or contains(@class,'author') or contains(@id,'byline')]"
)
_NOT_BYLINE = re.compile(r"comment|photo|avatar|thumb|image|img|bio\b|title|follow|tweet|social", re.I)


def _english_byline(root: etree._Element) -> str | None:
    """A ``By First Last`` name from ``rel=author``, ``itemprop=author`` or a byline/author element."""
    for el in _BYLINE_XPATH(root):
        if _NOT_BYLINE.search((el.get("class") or "") + " " + (el.get("id") or "")):
            continue
        names = el.xpath(".//*[@itemprop='name']")
        name = bylines.english_name(_text_of(names[0]) if names else _text_of(el))
        if name:
            return name
    return None


# --- dates ------------------------------------------------------------------------------------------


def _published(
    root: etree._Element, sel: Selectors, meta: PageMeta, header: str, head: str, url: str, tz: str
) -> datetime | None:
    in_text = date_in_text(header, tz) or date_in_text(head, tz)
    for value in (_selected_text(root, sel.published), meta.gov.get("published"), meta.common.get("published"),
                  *meta.time_elements):  # fmt: skip
        when = parse_datetime(value, tz=tz)
        if when is not None and not 1990 <= when.year <= 2100:
            continue  # 9999-12-31 or 0001-01-01: a placeholder, not a publication time
        if when is not None:
            if (
                in_text is not None
                and not re.search(r"\d[:：]\d", value or "")
                and _same_day(when, in_text, tz)
            ):
                return in_text  # the meta gives the day, the page its time
            return when
    m = URL_DATE.search(urlsplit(url).path)
    in_url = parse_datetime("-".join(m.groups()), tz=tz) if m else None
    in_header = date_in_text(header, tz)
    if in_header is not None:
        return in_header
    # A date in the body's first lines may be the notice's own schedule (一、报名时间：3月1日): where the
    # URL carries a date (/t20240105_1.html) that disagrees, the URL's is the publication date.
    if in_text is not None and (in_url is None or _same_day(in_text, in_url, tz)):
        return in_text
    if in_url is not None:
        return in_url
    # Last resorts: a modification time given as the only time (Baidu's dateUpdate), or the
    # creation time in a WeChat article's script.
    updated = parse_datetime(meta.common.get("updated"), tz=tz)
    return updated if updated is not None and 1990 <= updated.year <= 2100 else meta.script_time


def _same_day(a: datetime, b: datetime, tz: str) -> bool:
    zone = ZoneInfo(tz)
    return a.astimezone(zone).date() == b.astimezone(zone).date()


# --- text regions -----------------------------------------------------------------------------------


_SPACES = re.compile(r"\s+")


def _block_parts(
    el: etree._Element, watch: tuple[etree._Element | None, ...] = ()
) -> tuple[list[str], dict[tuple[int, str], int]]:
    """The text pieces of ``el`` with a line break at every block boundary (and only there: a line
    break in the HTML source is a space), and where each watched element starts and ends in them:
    ``{(index in watch, "start" | "end"): piece index}`` (an element's tail comes after its end)."""
    parts: list[str] = []
    at: dict[tuple[int, str], int] = {}
    watched = {id(w): i for i, w in enumerate(watch) if w is not None}
    for event, node in etree.iterwalk(el, events=("start", "end")):
        tag = node.tag if isinstance(node.tag, str) else ""
        if event == "start":
            if id(node) in watched:
                at[(watched[id(node)], "start")] = len(parts)
            if tag in _BLOCKS:
                parts.append("\n")
            if node.text:
                parts.append(_SPACES.sub(" ", node.text))
        else:
            if tag in _BLOCKS:
                parts.append("\n")
            if id(node) in watched:
                at[(watched[id(node)], "end")] = len(parts)
            if node.tail and node is not el:
                parts.append(_SPACES.sub(" ", node.tail))
    return parts, at


def _collapse(parts: list[str]) -> str:
    return re.sub(r"[ \t\r\f\v\u3000\xa0]+", " ", "".join(parts))


def _block_text(el: etree._Element) -> str:
    """Text of ``el`` with a line break at every block boundary (see :func:`_block_parts`)."""
    return _collapse(_block_parts(el)[0])


def _page_text(
    root: etree._Element, heading: etree._Element | None, node: etree._Element
) -> tuple[str, str, str]:
    """(header, after, page) from one walk of the page's text:

    header  the text from the headline to the body; the 800 characters before the body when there is
            no headline or it does not come first; the 600 characters after the headline when the body
            holds it (a wrapper with the headline, its date line and the text)
    after   the text after the body
    page    the whole page's text
    """
    parts, at = _block_parts(root, (node, heading))
    start, end = at.get((0, "start"), 0), at.get((0, "end"), len(parts))
    page = _collapse(parts)
    before, after = _collapse(parts[:start]), _collapse(parts[end:])
    if heading is not None and node in heading.iterancestors():
        return _collapse(parts[at.get((1, "end"), start) :])[:600], after, page
    if heading is not None:
        headline = _text_of(heading)
        found = before.rfind(headline) if headline else -1
        if found >= 0 and len(before) - found < 3000:
            return before[found + len(headline) :], after, page
    return before[-800:], after, page


# --- attachments ------------------------------------------------------------------------------------


def _attachments(
    root: etree._Element, body: etree._Element, node: etree._Element, base: str
) -> tuple[Attachment, ...]:
    """Binary links (PDF, DOC, XLS, ZIP, ...) in the body, beside it, or labelled 附件 on the page, with
    their link text as title and a MIME type guessed from the file name."""
    links: dict[str, Attachment] = {}
    parent = node.getparent()
    scopes = [body, parent if parent is not None else node]
    candidates = [a for scope in scopes for a in scope.iter("a")]
    candidates += [a for a in root.iter("a") if "附件" in _text_of(a) or "附件" in (a.getparent().text or "")]
    for a in candidates:
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        try:
            absolute = urljoin(base, href)
            path = urlsplit(absolute).path
        except ValueError:
            continue
        key = unquote(absolute)  # 名单.pdf and %E5%90%8D%E5%8D%95.pdf are one file
        if _BINARY_EXT.search(path) and key not in links:
            title = _text_of(a) or (a.get("title") or "").strip() or None
            links[key] = Attachment(absolute, title, mimetypes.guess_type(path, strict=False)[0])
    return tuple(links.values())


def is_binary_url(url: str) -> bool:
    """True for links to documents and archives (recorded as attachments, never parsed as pages)."""
    try:
        return bool(_BINARY_EXT.search(urlsplit(url).path))
    except ValueError:
        return False


# --- main content -----------------------------------------------------------------------------------

_NEGATIVE = re.compile(
    r"comment|share(?!d)|footer|foot\b|\bnav|menu|sidebar|side\b|related|relate|recommend|\bhot|rank|advert|"
    r"\bads?\b|banner|breadcrumb|crumb|copyright|\bprint|toolbar|tools\b|login|search|pager|pagination|"
    r"widget|social|subscribe|popup|modal|qrcode|erweima|xgxw|xgwz|tuijian|bottom|header|top-?bar|dialog",
    re.I,
)
_POSITIVE = re.compile(
    r"article|content|\bbody|main|\btext|entry|post|story|detail|zoom|TRS_|artic|\bcon\b|cont\b", re.I
)
_RELATED_WORDS = (
    r"相关阅读|相关新闻|相关链接|相关文章|相关推荐|延伸阅读|推荐阅读|热点推荐|热门推荐|你可能会?喜欢|猜你喜欢"
)
# A line of buttons only (【打印本页】【关闭窗口】, 字号：大 中 小); a heading that starts with one of
# these words (关闭落后产能企业32家) is content.
_BUTTONS = re.compile(
    r"^(?:[\W_]*(?:打印本页|打印此文|打印|关闭窗口|关闭本页|关闭|返回顶部|分享|收藏|字号|纠错|扫一扫|默认|大|中|小))+[\W_]*$"
)
# A navigation line: the next / previous article, "related" headings, the 责任编辑 line, a share bar.
_NAV_LINE = re.compile(r"^[\s【\[(（]*(?:上一篇|下一篇|分享到|扫码阅读全文|" + _RELATED_WORDS + r"|责任编辑)")
_RELATED = re.compile(r"^[\s【\[(（]*(?:" + _RELATED_WORDS + r")")
# 免责声明 / 特别声明 / Notice: the platform's, not the article's; 图片来自网络，如有侵权，请联系删除
_DISCLAIMER = re.compile(
    r"^[【\[]?(?:特别声明|免责声明|Disclaimer)[】\]]?\s*[：:]|如有侵权.{0,12}(?:联系|删除)", re.I
)
# the date / 来源 / 作者 line under a headline, when the body holds it
_META_LINE = re.compile(r"来源|作者|编辑|发布|浏览|点击|阅读|字号")
_DATE_IN_LINE = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")
_SENTENCE_END = re.compile(r"[。！？!?]")
# Names that say "not the article" even beside a positive word (jp-relatedposts, article-share,
# post-comments): inside the body, such a block goes.
_NOT_ARTICLE = re.compile(
    r"related|relate|recommend|comment|share(?!d)|sharing|xgxw|xgwz|tuijian|sidebar|breadcrumb", re.I
)
# A paragraph that says this is the site's footer: it scores nothing, however much punctuation it has.
# A box of the site's contact details (联系我们, 地址：, 邮编), beside an article in a box of the same kind.
_CONTACT = re.compile(r"联系我们|联系方式|地址[：:]|邮编|邮政编码|版权所有|ICP[备证]")
_SITE_FOOTER = re.compile(
    r"版权所有|Copyright|免责声明|郑重声明|ICP[备证]|公网安备|违法和不良信息举报|举报电话|客服电话", re.I
)
_PUNCT = re.compile(r"[,，。、；;！!？?：:]")
_LEAF = {"p", "pre", "td", "blockquote", "li", "dd", "h2", "h3", "h4", "div", "section", "article", "span", "font"}  # fmt: skip
_INLINE = {"a", "b", "strong", "em", "i", "u", "span", "font", "img", "br", "sup", "sub", "small", "big", "label"}  # fmt: skip
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_MIN_BODY_CHARS = 60
_MIN_FALLBACK_CHARS = 20


def _names(el: etree._Element) -> str:
    """The class and id that say what an element is; an id that is a heading's slug
    (``example-1-amend-a-shared-changeset``) says nothing."""
    ident = el.get("id") or ""
    return f"{el.get('class') or ''} {'' if ident.count('-') >= 3 else ident}"


def _weight(el: etree._Element) -> float:
    names = _names(el)
    if not names.strip():
        return 0.0
    return (25.0 if _POSITIVE.search(names) else 0.0) - (25.0 if _NEGATIVE.search(names) else 0.0)


def _link_density(el: etree._Element) -> float:
    text = len(re.sub(r"\s+", "", "".join(el.itertext())))
    if not text:
        return 1.0
    links = sum(len(re.sub(r"\s+", "", "".join(a.itertext()))) for a in el.iter("a"))
    return min(1.0, links / text)


def _text_sizes(scope: etree._Element) -> dict[etree._Element, tuple[int, int]]:
    """(characters, characters inside links) of every element under ``scope``, whitespace not counted,
    in one walk: what :func:`_link_density` computes for one element, for all of them."""
    sizes: dict[etree._Element, tuple[int, int]] = {}
    for _, el in etree.iterwalk(scope, events=("end",)):
        total = len(_SPACES.sub("", el.text or "")) if isinstance(el.tag, str) else 0
        links = 0
        for child in el:
            child_total, child_links = sizes.get(child, (0, 0))
            tail = len(_SPACES.sub("", child.tail or ""))
            total += child_total + tail
            links += child_links
        sizes[el] = (total, total if el.tag == "a" else links)
    return sizes


def _own_text(el: etree._Element) -> str:
    """Text of ``el`` outside its block children (inline children's text included)."""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and child.tag in _INLINE:
            parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    return re.sub(r"\s+", "", "".join(parts))


def find_main_body(
    root: etree._Element, *, within: etree._Element | None = None
) -> tuple[etree._Element, etree._Element] | None:
    """The element holding the article text, readability-style, tuned for Chinese pages.

    Every paragraph-like element (``p``, ``td``, ``pre``, or a ``div`` with text of its own; not one
    that reads as the site footer) scores ``1 + punctuation marks + min(chars / 50, 5)``, less its link
    share; the score goes to five levels of ancestors divided by 1, 2, 6, 9, 12. Containers start from
    their tag and a class/id weight (``content``, ``article`` +25; ``comment``, ``share``, ``footer``
    ... -25); the final score is multiplied by ``1 - link density``. The best of the top 20 with enough
    text and few links wins and is widened (:func:`_widen`); siblings that score at least a fifth of
    it, plain paragraphs and blocks of its own tag and class are kept with it. Returns ``(winner, content)``: the winning element of
    the page and the content (the winner, or a new ``div`` holding copies of it and its kept siblings);
    None when no candidate has enough text. ``within`` limits the search to one element's content.
    """
    body = root.find(".//body")
    scope = within if within is not None else body if body is not None else root
    outside = within.getparent() if within is not None else None
    scores: dict[etree._Element, float] = {}
    for el in scope.iter(*_LEAF):
        text = _own_text(el)
        if len(text) < 10 or _HIDDEN.search(el.get("style") or "") or _SITE_FOOTER.search(text):
            continue
        links = sum(len(re.sub(r"\s+", "", "".join(a.itertext()))) for a in el if a.tag == "a")
        score = (1 + len(_PUNCT.findall(text)) + min(len(text) / 50, 5)) * max(0.0, 1 - links / len(text))
        if not score:
            continue
        ancestors = (
            [el, *el.iterancestors()]
            if el.tag in ("div", "section", "article", "td")
            else [*el.iterancestors()]
        )
        for level, anc in enumerate(ancestors[:5]):
            if anc.tag == "html" or (outside is not None and anc is outside):
                break
            if anc not in scores:
                scores[anc] = _weight(anc) + (
                    5.0 if anc.tag in ("div", "article", "section") else 3.0 if anc.tag == "td" else 0.0
                )
            scores[anc] += score / (1, 2, 6, 9, 12)[level]
    if not scores:
        return None
    sizes = _text_sizes(scope if within is not None else root)

    def density(el: etree._Element) -> float:
        total, links = sizes.get(el, (0, 0))
        return min(1.0, links / total) if total else 1.0

    ranked = sorted(((s * (1 - density(el)), el) for el, s in scores.items()), key=lambda p: -p[0])
    usable = [
        (s, el) for s, el in ranked[:20]
        if sizes.get(el, (0, 0))[0] >= _MIN_BODY_CHARS and density(el) <= 0.5
        and not (density(el) > 0.3 and _is_list_of_links(el, sizes))
    ]  # fmt: skip
    if not usable:
        return None
    best_score, best = usable[0]
    final = dict((el, s) for s, el in ranked)
    winner = best
    best = _widen(best, best_score, ranked[:5], final, within)
    # Only wrappers of the winner were climbed (div > div > p): its siblings join by kind, not score,
    # so a sidebar column beside the article's column is not taken in.
    wrapped = best is not winner and _wraps_only(best, winner)
    parent = best.getparent()
    if parent is not None and best is not within and parent is not within and _has_twin(parent):
        best = parent  # the article goes on in a twin of the winner's container (NYT's story-body-1, -2)
    best_score = final.get(best, best_score)
    parent = best.getparent()
    if parent is None:
        return best, best
    kept = []
    for sibling in parent:
        if sibling is best:
            kept.append(sibling)
            continue
        if not isinstance(sibling.tag, str):
            continue
        if not wrapped and final.get(sibling, 0.0) >= max(10.0, best_score * 0.2):
            kept.append(sibling)
        elif _twins(sibling, best):
            kept.append(sibling)  # another block of the same kind: the article goes on after a figure
        elif sibling.tag == "p":
            text = re.sub(r"\s+", "", "".join(sibling.itertext()))
            ld = _link_density(sibling)
            if (len(text) > 80 and ld < 0.25) or (
                0 < len(text) <= 80 and ld == 0 and text[-1] in "。.!！?？"
            ):
                kept.append(sibling)
    if len(kept) == 1:
        return best, best
    wrapper = lxml.html.Element("div")
    for el in kept:
        wrapper.append(_copy(el))
    return best, wrapper


def _widen(
    best: etree._Element,
    best_score: float,
    top: list[tuple[float, etree._Element]],
    final: dict[etree._Element, float],
    within: etree._Element | None = None,
) -> etree._Element:
    """An ancestor of ``best`` that holds the whole article when ``best`` is one section of it: the
    nearest ancestor holding three of the top candidates that score near the best, else the nearest
    ancestor that scores higher than the candidates on the way up (readability's two rules). Never
    above ``within``."""
    near = [el for s, el in top if el is not best and s >= 0.75 * best_score]
    if len(near) >= 3:
        for anc in best.iterancestors():
            if anc.tag in ("body", "html"):
                break
            if sum(1 for el in near if anc in el.iterancestors()) >= 3:
                best = anc
                break
    # A candidate that is its parent's only element child is the same block: climb (each paragraph
    # wrapped in its own div > div > div, as on The Telegraph), so its siblings can join it below.
    parent = best.getparent()
    while (
        parent is not None
        and best is not within
        and parent.tag not in ("body", "html")
        and len(_element_children(parent)) == 1
    ):
        best, parent = parent, parent.getparent()
    last = final.get(best, best_score)
    threshold = last / 3
    for anc in best.iterancestors():
        if anc.tag in ("body", "html"):
            break
        if anc not in final:
            continue
        if final[anc] < threshold:
            break
        if final[anc] > last:
            # ... unless that takes in the site's contact box or footer beside the article
            others = (c for c in _element_children(anc) if c is not best and best not in c.iterdescendants())
            if any(_CONTACT.search("".join(c.itertext())) for c in others):
                break
            return anc
        last = final[anc]
    return best


def _is_list_of_links(el: etree._Element, sizes: dict[etree._Element, tuple[int, int]]) -> bool:
    """A list page's list: ten links or more, most of the text in list items (a title and a date each)."""
    items = el.xpath(".//li[.//a[@href]]")
    if len(items) < 10:
        return False
    total = sizes.get(el, (0, 0))[0] or 1
    in_items = sum(
        sizes.get(li, (0, 0))[0] for li in items if not any(a.tag == "li" for a in li.iterancestors())
    )
    return in_items / total > 0.6


def _wraps_only(outer: etree._Element, inner: etree._Element) -> bool:
    """``outer`` holds ``inner`` through elements that have no other element child."""
    el = inner
    while el is not outer:
        parent = el.getparent()
        if parent is None or len(_element_children(parent)) != 1:
            return False
        el = parent
    return True


def _twins(a: etree._Element, b: etree._Element) -> bool:
    """``a`` is a block of the same kind as ``b`` (same tag, same first class) with text of its own:
    100 characters or more, few of them links."""
    return (
        a is not b
        and a.tag == b.tag
        and (a.get("class") or "").split()[:1] == (b.get("class") or "").split()[:1]
        and len(text := re.sub(r"\s+", "", "".join(a.itertext()))) >= 100
        and _link_density(a) < 0.3
        and not _CONTACT.search(text)
    )


def _has_twin(el: etree._Element) -> bool:
    parent = el.getparent()
    return (
        bool(el.get("class"))
        and parent is not None
        and any(_twins(sibling, el) for sibling in parent if isinstance(sibling.tag, str))
    )


def _element_children(el: etree._Element) -> list[etree._Element]:
    return [child for child in el if isinstance(child.tag, str)]


def _fallback_body(root: etree._Element) -> tuple[etree._Element, etree._Element] | None:
    """For a short page that no candidate wins (a photo with a caption, a one-line notice): its
    ``<article>``, ``<main>`` or ``<body>``, when it holds a sentence's worth of text (20 characters)
    that is not mostly links, or images. A forum or list page's leftovers are not an article."""
    for el in root.xpath("//article|//main|//*[@role='main']|//body"):
        text = re.sub(r"\s+", "", "".join(el.itertext()))
        density = _link_density(el) if text else 0.0
        if density > 0.5 or (density > 0.3 and len(el.xpath(".//a[@href]")) >= 10):
            continue  # a list of links (with their dates), whatever logo it shows
        if len(text) >= _MIN_FALLBACK_CHARS or el.xpath(".//img[not(ancestor::a)]"):
            return el, el
    return None


def _copy(el: etree._Element) -> etree._Element:
    copied = copy.deepcopy(el)
    copied.tail = None
    return copied


def clean_body(node: etree._Element, headline: str | None = None) -> etree._Element:
    """A copy of ``node`` without hidden elements, form controls, share bars, print/close links,
    related-article lists, platform disclaimers and other boilerplate; when it holds the ``headline``
    at its start, without the headline and what comes before it (breadcrumbs), and without a date /
    来源 line among its first lines."""
    body = _copy(node)
    if headline:
        _drop_through_headline(body, headline)
    sizes = _text_sizes(body)
    total = max(1, sizes.get(body, (0, 0))[0])
    leading = 0  # leaf blocks with text seen so far: the date / 来源 line is among the first three
    for el in list(body.iter()):
        if el is body or not isinstance(el.tag, str) or el.getparent() is None:
            continue
        if el.tag in ("input", "select", "button", "textarea", "label", "nav", "footer", "aside"):
            _drop(el)
            continue
        if (
            _HIDDEN.search(el.get("style") or "")
            or el.get("hidden") is not None
            or el.get("aria-hidden") == "true"
        ):
            _drop(el)
            continue
        size, links = sizes.get(el, (0, 0))
        names = _names(el)
        negative = _NEGATIVE.search(names) and (not _POSITIVE.search(names) or _NOT_ARTICLE.search(names))
        if (names.strip() and negative and size < total / 2) or (
            el.tag in ("ul", "ol", "dl", "table", "div") and _is_link_list(el, size, links)
        ):
            _drop(el)
            continue
        if size > 300:
            continue
        text = re.sub(r"\s+", "", "".join(el.itertext()))
        leaf = _is_leaf_block(el)
        if leaf and text:
            leading += 1
        if (
            (
                len(text) <= 40
                and el.tag not in ("p", "br")
                and (_BUTTONS.match(text) or _NAV_LINE.match(text))
            )
            or (leaf and _DISCLAIMER.search(text))
            or (
                leaf
                and leading <= 3
                and len(text) <= 100
                and _META_LINE.search(text)
                and _DATE_IN_LINE.search(text)
                and not _SENTENCE_END.search(text)
            )
        ):
            if len(text) <= 40 and _RELATED.match(text):
                _drop_related(el)
            _drop(el)
    return body


def _is_leaf_block(el: etree._Element) -> bool:
    """A block of text (p, li, a div of text...) with no block inside it but line breaks."""
    return (
        el.tag in _BLOCKS
        and el.tag not in ("br", "table", "ul", "ol", "tr")
        and not any(
            isinstance(d.tag, str) and d.tag in _BLOCKS and d.tag != "br" for d in el.iterdescendants()
        )
    )


def _drop_related(heading: etree._Element) -> None:
    """The link lists that follow a "related / you may like" heading go with it."""
    for sibling in list(heading.itersiblings()):
        text = re.sub(r"\s+", "", "".join(sibling.itertext()))
        if text and _link_density(sibling) <= 0.5:
            break
        _drop(sibling)


def _drop_through_headline(body: etree._Element, headline: str) -> None:
    """Remove the headline from the start of the body (after at most 60 characters that are not links:
    a breadcrumb trail, never a paragraph; not a link itself) with everything before it."""
    wanted = re.sub(r"\s+", "", headline)
    sizes = _text_sizes(body)
    seen = 0
    in_link = 0
    found: etree._Element | None = None
    for event, el in etree.iterwalk(body, events=("start", "end")):
        if event == "start":
            if el.tag == "a":
                in_link += 1
            if (
                el is not body
                and not in_link
                and isinstance(el.tag, str)
                and sizes.get(el, (0, 0))[0] == len(wanted)
                and re.sub(r"\s+", "", "".join(el.itertext())) == wanted
            ):
                found = el
                break
            if not in_link:
                seen += len(_SPACES.sub("", el.text or ""))
        else:
            if el.tag == "a":
                in_link -= 1
            if el is not body and not in_link:
                seen += len(_SPACES.sub("", el.tail or ""))
        if seen > 60:
            return  # text before it: not the start of the body
    if found is None:
        return
    cur = found
    while cur is not body and cur.getparent() is not None:
        for before in list(cur.itersiblings(preceding=True)):
            _drop(before)
        parent = cur.getparent()
        if parent is not None and parent is not body and parent.text:
            parent.text = None
        cur = parent
    if body.text:
        body.text = None
    _drop(found)


def _is_link_list(el: etree._Element, size: int, links: int) -> bool:
    if not size or links / size <= 0.6:
        return False
    anchors = [a for a in el.iter("a") if not is_binary_url(a.get("href") or "")]
    return len(anchors) >= 3
