"""Feed bytes -> ParsedFeed: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and RDF through feedparser; JSON Feed here.

    parse_feed(content, url=..., content_type=...)
      -> empty body, or a JSON body              -> ParseError / parse.jsonfeed
      -> bytes decoded (fetch.encoding) and re-encoded as UTF-8 with a matching XML declaration
      -> an HTML page at the feed URL             -> ParseError("the URL returned an HTML page, not a feed")
      -> feedparser (sanitize_html=False: sanitizing is our own later stage; relative links resolved
         against ``url`` via Content-Location)
      -> each entry mapped to a RawItem: raw strings, unsanitized HTML, raw date text, and its
         enclosures (RSS <enclosure url length type>, Atom <link rel="enclosure">) as attachments:
         absolute http(s) URLs only, length an int or None, see process.attachments

feedparser is handed a BytesIO, never bytes: given bytes, it tries them as a file name first.
Dates stay as the feed wrote them; ``process.normalize`` reads naive times in the source's time zone.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from html.parser import HTMLParser
from typing import Any

import feedparser

from syndication.errors import ParseError
from syndication.fetch.encoding import to_utf8_xml
from syndication.models import Attachment, ParsedFeed, RawItem
from syndication.parse.jsonfeed import looks_like_json, parse_json_feed, text_to_html
from syndication.process.attachments import attachment

__all__ = ["html_to_text", "parse_feed", "text_to_html"]

_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
# XML declaration, processing instructions, comments and doctypes before the root element.
_PROLOG_RE = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->|<!doctype[^>\[]*(?:\[.*?\])?\s*>)*", re.DOTALL | re.I)
_HTML_ROOT_RE = re.compile(rb"<(?:[\w.-]+:)?html\b", re.IGNORECASE)
_HTML_ANYWHERE_RE = re.compile(rb"<!doctype\s+html\b|<(?:html|body|head)\b", re.IGNORECASE)
_PROLOG_SCAN = 64 * 1024


def parse_feed(content: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse feed bytes fetched from ``url``. Raises ParseError when they are not a feed we can read."""
    if not content or not content.strip():
        raise ParseError("empty body: the URL returned no content")
    if looks_like_json(content, content_type):
        return parse_json_feed(content, url=url, content_type=content_type)
    data, encoding = to_utf8_xml(content, content_type)
    if _starts_as_html(data):
        raise ParseError("the URL returned an HTML page, not a feed")
    result = feedparser.parse(
        io.BytesIO(data),
        response_headers={"content-location": url, "content-type": "application/xml; charset=utf-8"},
        sanitize_html=False,
        resolve_relative_uris=False,  # made absolute in process.sanitize: 2x faster (design-notes)
    )
    version = str(result.get("version") or "")
    feed: Mapping[str, Any] = result.get("feed") or {}
    entries: list[Mapping[str, Any]] = list(result.get("entries") or [])
    bozo = _bozo_message(result)
    if not entries and (not version or (bozo and not feed.get("title"))):
        if _HTML_ANYWHERE_RE.search(data, 0, _PROLOG_SCAN) or _is_html_type(content_type):
            raise ParseError("the URL returned an HTML page, not a feed")
        raise ParseError(f"not a feed: {bozo or 'no RSS, Atom or RDF feed element found'}")
    feed_author = _author(feed) if version.startswith("atom") else None
    items = tuple(_raw_item(entry, feed_author, url) for entry in entries)
    return ParsedFeed(
        title=_title(feed),
        link=_clean(feed.get("link")),
        items=items,
        format=version or "unknown",
        encoding=encoding,
        warning=bozo,
    )


def _raw_item(entry: Mapping[str, Any], feed_author: str | None, url: str) -> RawItem:
    # Without summary_detail, feedparser's "summary" is a copy of the content: the feed gave no summary.
    detail = entry.get("summary_detail")
    summary = _html_of(detail, entry.get("summary")) if detail else ""
    content = ""
    base = None
    for part in entry.get("content") or ():
        rendition = _html_of(part, part.get("value"))
        if rendition and str(part.get("type", "")).lower() in _HTML_TYPES:
            content, base = rendition, part.get("base")  # prefer the HTML rendition when several
            break
        if not content:
            content, base = rendition, part.get("base")
    if not content and detail:
        base = detail.get("base")
    # feedparser reports the document URL as the base when there is no xml:base: that is no news
    explicit_base = _clean(base) if base and base != url else None
    return RawItem(
        guid=_clean(entry.get("id")),
        url=_entry_link(entry),
        title=_title(entry) or "",
        content_html=content or summary,
        summary_html=summary,
        author=_author(entry) or feed_author,  # Atom: the feed's author applies to entries without one
        publisher=_publisher(entry),
        published=_clean(entry.get("published")),
        # FeedParserDict answers "updated" with "published" when absent; its __contains__ does not.
        updated=_clean(entry["updated"]) if "updated" in entry else None,
        categories=_dedupe(tag.get("term") or tag.get("label") for tag in entry.get("tags") or ()),
        base=explicit_base,
        attachments=_enclosures(entry, url),
    )


def _enclosures(entry: Mapping[str, Any], url: str) -> tuple[Attachment, ...]:
    """RSS <enclosure> and Atom <link rel="enclosure">, in order; unusable URLs are skipped.

    feedparser resolves Atom hrefs against xml:base but leaves RSS enclosure URLs as written: both
    are joined with the feed's URL here. It also gives every Atom link without a type "text/html", so
    that type counts as unknown (the type is then guessed from the file name, which gives text/html
    back for an .html file)."""
    out: dict[str, Attachment] = {}
    for enc in entry.get("enclosures") or ():
        if not isinstance(enc, Mapping):
            continue
        mime = enc.get("type")
        found = attachment(
            enc.get("href") or enc.get("url"),
            base=url,
            title=enc.get("title"),
            mime_type=None if str(mime).strip().lower() == "text/html" else mime,
            length=enc.get("length"),
        )
        if found is not None:
            out.setdefault(found.url, found)
    return tuple(out.values())


def _entry_link(entry: Mapping[str, Any]) -> str | None:
    for link in entry.get("links") or ():
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"]).strip()
    return _clean(entry.get("link"))


def _title(node: Mapping[str, Any]) -> str | None:
    title = node.get("title")
    if title is None:
        return None
    detail = node.get("title_detail") or {}
    if str(detail.get("type", "")).lower() in _HTML_TYPES:
        return html_to_text(str(title))
    return str(title).strip()


def _author(node: Mapping[str, Any]) -> str | None:
    detail = node.get("author_detail") or {}
    return _clean(detail.get("name")) or _clean(node.get("author"))


def _publisher(entry: Mapping[str, Any]) -> str | None:
    """dc:publisher, then dc:source, then the RSS <source> element's text (Atom: the source feed's title)."""
    detail = entry.get("publisher_detail") or {}
    source = entry.get("source") or {}
    return (
        _clean(detail.get("name"))
        or _clean(entry.get("publisher"))
        or _clean(entry.get("dc_source"))
        or _clean(source.get("title"))
    )


def _html_of(detail: Mapping[str, Any] | None, value: Any) -> str:
    """The value as HTML: plain-text constructs are escaped into paragraphs."""
    if not value:
        return ""
    text = str(value)
    kind = str((detail or {}).get("type", "text/html")).lower()
    return text if kind in _HTML_TYPES else text_to_html(text)


def _bozo_message(result: Mapping[str, Any]) -> str | None:
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    return f"{type(exc).__name__}: {exc}" if exc is not None else "the feed is not well-formed"


def _starts_as_html(data: bytes) -> bool:
    """True when the document's root element is <html> (an XHTML doctype before <rss> is tolerated)."""
    m = _PROLOG_RE.match(data, 0, _PROLOG_SCAN)
    return bool(_HTML_ROOT_RE.match(data, m.end() if m else 0))


def _is_html_type(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in ("text/html", "application/xhtml+xml")


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _dedupe(values: Iterable[Any]) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for value in values:
        text = _clean(value)
        if text:
            out.setdefault(text, None)
    return tuple(out)


# --- text helper --------------------------------------------------------------------------------------


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The text of an HTML fragment (tags dropped, entities decoded, whitespace collapsed)."""
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    return " ".join("".join(collector.parts).split())
