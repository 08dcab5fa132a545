"""Page metadata: the government-site meta tags, JSON-LD, Open Graph and ``<time>``.

Chinese government sites follow the government-site page standard (see DESIGN.md "Official sites"):
``<meta name="ArticleTitle">``, ``PubDate``, ``ContentSource``, ``Author``, ``ColumnName``, ``Keywords``,
``Description``, ``Url`` in any letter case. :func:`read_meta` collects those (rank 2 in the order of
trust) apart from the structured data and common meta (JSON-LD, Open Graph, ``article:*``, ``<time>``,
rank 3), so :mod:`syndication.parse.page` can pick each field from the most trusted place that has it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lxml import etree
from lxml.etree import XPath

from syndication.errors import ParseError
from syndication.process.normalize import parse_datetime

__all__ = ["URL_DATE", "PageMeta", "css_xpath", "date_in_text", "read_meta"]

# Government-site standard, lower-cased name -> field.
_GOV = {
    "articletitle": "title",
    "pubdate": "published",
    "firstpublishedtime": "published",
    "contentsource": "source",
    "author": "author",
    "columnname": "category",
    "keywords": "keywords",
    "description": "description",
    "url": "url",
}
# Common meta (Open Graph, article:*, Dublin Core, Chinese portals), lower-cased -> field.
_COMMON = {
    "og:title": "title",
    "twitter:title": "title",
    "dc.title": "title",
    "dc:title": "title",
    "dcterm:title": "title",
    "parsely-title": "title",
    "weibo:article:title": "title",
    "article:published_time": "published",
    "og:article:published_time": "published",
    "og:release_date": "published",
    "publishdate": "published",
    "publish_date": "published",
    "pubdate": "published",
    "publishtime": "published",
    "publish-time": "published",
    "dc.date": "published",
    "dc.date.issued": "published",
    "datepublished": "published",
    "sailthru.date": "published",
    "parsely-pub-date": "published",
    "apub:time": "published",
    "weibo:article:create_at": "published",
    "article:author": "author",
    "og:article:author": "author",
    "dc.creator": "author",
    "dc:creator": "author",
    "dcterm:creator": "author",
    "byl": "author",
    "parsely-author": "author",
    "source": "source",
    "mediaid": "source",
    "article:section": "category",
    "article:modified_time": "updated",
    "og:updated_time": "updated",
    "dateupdate": "updated",
    "datemodified": "updated",
    "og:url": "url",
    "og:description": "description",
    "og:site_name": "site_name",
}
# Where several give an author, the lower rank comes first (Readability's order, then the rest):
# JSON-LD, Dublin Core, <meta name="author"> (the person, "Jeffrey Gettleman", where byl shouts "By
# JEFFREY GETTLEMAN"), article:author (often a profile URL, which the caller skips), parsely, byl.
_JSON_LD_AUTHOR_RANK = 0
_AUTHOR_RANK = {"dc.creator": 1, "dc:creator": 1, "dcterm:creator": 1, "author": 2, "article:author": 3,
                "og:article:author": 3, "parsely-author": 4, "byl": 5}  # fmt: skip
# Where several meta tags give the title, the lower rank wins (Dublin Core, then Open Graph ...).
_TITLE_RANK = {"dc:title": 0, "dcterm:title": 0, "dc.title": 0, "og:title": 1, "weibo:article:title": 2,
               "twitter:title": 3, "parsely-title": 4}  # fmt: skip
# schema.org Article and its kin: NewsArticle, ReportageNewsArticle, BlogPosting, SocialMediaPosting, Report ...
_ARTICLE_TYPE = re.compile(r"^(?:\w*(?:Article|Posting)|Report)$", re.I)


@dataclass
class PageMeta:
    """Each field as found in the gov meta tags (``gov``) and in structured data / common meta (``common``)."""

    gov: dict[str, str] = field(default_factory=dict)
    common: dict[str, str] = field(default_factory=dict)
    time_elements: list[str] = field(default_factory=list)
    # JSON-LD headline / name: used as the title only where the page's <title> repeats one (a
    # Wikipedia "headline" is the article's one-line description).
    ld_titles: list[str] = field(default_factory=list)
    # Every author named by meta tags and JSON-LD, best first (see _AUTHOR_RANK).
    authors: list[str] = field(default_factory=list)
    # The creation time a WeChat article page sets in its script (var ct = "1581517043").
    script_time: datetime | None = None

    def get(self, name: str) -> str | None:
        return self.gov.get(name) or self.common.get(name)


def read_meta(root: etree._Element) -> PageMeta:
    """Collect the page's metadata; the first non-empty value of each field wins within its rank."""
    meta = PageMeta()
    title_rank = len(_TITLE_RANK)
    authors: list[tuple[float, str]] = []
    for el in root.iter("meta"):
        key = (
            el.get("name") or el.get("property") or el.get("itemprop") or el.get("http-equiv") or ""
        ).strip()
        value = " ".join((el.get("content") or "").split())
        if not key or not value:
            continue
        # property="dc:title og:title": each space-separated name counts; "weibo: article:create_at"
        # (Sina) is weibo:article:create_at.
        for low in dict.fromkeys(re.sub(r"\s*:\s*", ":", key.lower()).split()):
            if low in _GOV and _GOV[low] not in meta.gov:
                # "author"/"keywords"/"description"/"url" are common names too: they count as gov meta
                # only on pages that carry the standard's distinctive tags (checked below).
                meta.gov[_GOV[low]] = value
            if low in _TITLE_RANK:
                if _TITLE_RANK[low] < title_rank:
                    meta.common["title"], title_rank = value, _TITLE_RANK[low]
            elif low in _COMMON and _COMMON[low] not in meta.common:
                meta.common[_COMMON[low]] = value
            if low in _AUTHOR_RANK:
                authors.append((_AUTHOR_RANK[low], value))
    gov_page = _is_gov_page(root)
    if not gov_page:
        for generic in ("author", "keywords", "description", "url"):
            value = meta.gov.pop(generic, "")
            if value and generic not in meta.common:
                meta.common[generic] = value
    published_in_meta = meta.common.pop("published", None)
    for item in _json_ld(root):
        _merge_json_ld(meta.common, meta.ld_titles, item)
        ld_author = _name(item.get("author") or item.get("creator"))
        if ld_author:
            authors.append((_JSON_LD_AUTHOR_RANK, " ".join(ld_author.split())))
    # Every author the page's metadata names, best first (a URL or a site name is skipped by the
    # caller): on gov pages the standard's Author tag is gov meta, not one of these.
    ranked = sorted(
        (a for a in authors if not (gov_page and a[0] == _AUTHOR_RANK["author"])), key=lambda a: a[0]
    )
    meta.authors = list(dict.fromkeys(value for _, value in ranked))
    # JSON-LD's datePublished is the publication time; article:published_time is sometimes the last
    # update (Medium, NBC): the structured data wins.
    if published_in_meta:
        meta.common.setdefault("published", published_in_meta)
    meta.script_time = _script_time(root)
    for el in root.iter("time"):
        value = (el.get("datetime") or el.get("pubdate") or "").strip()
        if value:
            meta.time_elements.append(value)
    for el in root.xpath('//*[@itemprop="datePublished"]'):
        value = (el.get("content") or el.get("datetime") or el.text_content() or "").strip()
        if value:
            meta.common.setdefault("published", value)
    return meta


_SCRIPT_CT = re.compile(r"""\bvar\s+ct\s*=\s*["']?(1\d{9})["']?""")


def _script_time(root: etree._Element) -> datetime | None:
    for script in root.iter("script"):
        m = _SCRIPT_CT.search(script.text or "")
        if m:
            return datetime.fromtimestamp(int(m.group(1)), UTC)
    return None


def _is_gov_page(root: etree._Element) -> bool:
    for el in root.iter("meta"):
        name = (el.get("name") or "").lower()
        if name in ("articletitle", "pubdate", "contentsource", "columnname", "sitename", "siteidcode"):
            return True
    return False


def _json_ld(root: etree._Element) -> Iterator[dict[str, Any]]:
    for script in root.xpath('//script[@type="application/ld+json"]'):
        text = re.sub(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$", "", script.text or "")
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                if "@graph" in node:
                    stack.append(node["@graph"])
                types = node.get("@type")
                types = types if isinstance(types, list) else [types]
                if any(isinstance(t, str) and _ARTICLE_TYPE.match(t) for t in types):
                    yield node


def _name(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return _name(value.get("name"))
    if isinstance(value, list):
        names = [n for n in (_name(v) for v in value) if n]
        return ", ".join(names) or None
    return None


def _merge_json_ld(common: dict[str, str], ld_titles: list[str], item: dict[str, Any]) -> None:
    for value in (item.get("headline"), item.get("name")):
        if isinstance(value, str) and value.strip():
            ld_titles.append(" ".join(value.split()))
    pairs = (
        ("published", item.get("datePublished") or item.get("dateCreated")),
        ("author", item.get("author") or item.get("creator")),
        ("category", item.get("articleSection")),
        ("description", item.get("description")),
    )
    for key, value in pairs:
        text = _name(value)
        if text and key not in common:
            common[key] = " ".join(text.split())


# --- dates written in the page ---------------------------------------------------------------------

URL_DATE = re.compile(r"(?<!\d)(20\d{2})[-/]?(\d{2})[-/]?(\d{2})(?!\d)")
_DATE_TEXT = re.compile(
    r"(?<!\d)\d{4}\s*(?:[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,2}|年\s*\d{1,2}\s*月\s*\d{1,2}\s*日?)"
    r"(?:\s*\d{1,2}\s*[:：时]\s*\d{1,2}(?:\s*[:：]\s*\d{1,2})?)?"
)
_DATE_LABEL = re.compile(
    r"(?:发布时间|发布日期|发表时间|发表于|发稿时间|更新时间|时间|日期|发布)\s*[：:]?\s*$"
)


def date_in_text(text: str, tz: str) -> datetime | None:
    """A labelled date (``发布时间：...``) first, then the first date with a time, then the first date."""
    dated: list[tuple[int, datetime]] = []
    for m in _DATE_TEXT.finditer(text):
        when = parse_datetime(m.group(0), tz=tz)
        if when is None or not (1990 <= when.year <= 2100):
            continue
        labelled = bool(_DATE_LABEL.search(text[max(0, m.start() - 12) : m.start()]))
        has_time = bool(re.search(r"\d\s*[:：时]\s*\d", m.group(0)[6:]))
        dated.append((-(2 * labelled + has_time), when))
    if not dated:
        return None
    return min(dated, key=lambda pair: pair[0])[1]


# --- per-source CSS selectors ----------------------------------------------------------------------

_CSS_CACHE: dict[str, XPath] = {}


def css_xpath(selector: str) -> XPath:
    """A compiled XPath for a CSS selector (cssselect: CSS 3 selectors)."""
    if selector not in _CSS_CACHE:
        try:
            _CSS_CACHE[selector] = XPath(_css_to_xpath(selector))
        except (ValueError, etree.XPathSyntaxError) as e:
            raise ParseError(f"invalid or unsupported CSS selector {selector!r}: {e}") from e
    return _CSS_CACHE[selector]


def _css_to_xpath(selector: str) -> str:
    from cssselect import GenericTranslator, SelectorError

    try:
        return str(GenericTranslator().css_to_xpath(selector))
    except SelectorError as e:
        raise ValueError(str(e)) from e
