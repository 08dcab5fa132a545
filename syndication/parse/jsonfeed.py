"""JSON Feed 1.0 / 1.1 (https://jsonfeed.org/version/1.1) -> ParsedFeed. feedparser 6 cannot read it.

Mapping to RawItem: ``id`` -> guid, ``url`` (else ``external_url``) -> url, ``title``, ``content_html``
(else ``content_text`` escaped into paragraphs, else the summary) -> content_html, ``summary`` -> summary_html,
the item's ``authors``/``author`` (else the feed's, as the spec says) -> author, ``date_published`` /
``date_modified`` as written -> published / updated, ``tags`` -> categories, ``attachments`` (``url``,
``title``, ``mime_type``, ``size_in_bytes``) -> attachments (relative URLs joined with the feed's URL;
one without a usable http(s) ``url`` is skipped; a ``size_in_bytes`` that is no non-negative integer
becomes None).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import urljoin

from syndication.errors import ParseError
from syndication.fetch.encoding import decode_bytes
from syndication.models import Attachment, ParsedFeed, RawItem
from syndication.process.attachments import attachment

__all__ = ["looks_like_json", "parse_json_feed", "text_to_html"]

_VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")
_JSON_TYPES = ("application/feed+json", "application/json", "text/json")


def looks_like_json(content: bytes, content_type: str | None = None) -> bool:
    """A body that starts with ``{`` (after BOM/whitespace), or ``[`` when the type says JSON."""
    head = content[:256].removeprefix(b"\xef\xbb\xbf").replace(b"\x00", b"")
    head = head.lstrip(b"\xff\xfe").lstrip()  # UTF-16/32 BOM remnants once NULs are dropped
    if head.startswith(b"{"):
        return True
    media = (content_type or "").split(";", 1)[0].strip().lower()
    is_json_type = media in _JSON_TYPES or media.endswith("+json")
    return is_json_type and head.startswith(b"[")


def parse_json_feed(content: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a JSON Feed. Raises ParseError for invalid JSON or JSON that is not a JSON Feed."""
    text, encoding = decode_bytes(content, content_type=content_type)
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise ParseError(f"invalid JSON: {e}") from e
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith(_VERSION_PREFIXES):
        raise ParseError(
            "the JSON document is not a JSON Feed (no 'version': 'https://jsonfeed.org/version/...')"
        )
    items = doc.get("items", [])
    if not isinstance(items, list):
        raise ParseError("the JSON Feed's 'items' is not a list")
    feed_author = _author(doc)
    return ParsedFeed(
        title=_str(doc.get("title")),
        link=_url(doc.get("home_page_url"), url),
        items=tuple(_raw_item(item, url, feed_author) for item in items if isinstance(item, dict)),
        format="json",
        encoding=encoding,
    )


def text_to_html(text: str) -> str:
    """Plain text as HTML: escaped, blank lines split paragraphs, single newlines become <br>."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join("<p>" + escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)


def _raw_item(item: Mapping[str, Any], base: str, feed_author: str | None) -> RawItem:
    summary_text = _str(item.get("summary"))
    summary_html = text_to_html(summary_text) if summary_text else ""
    content_html = _str(item.get("content_html"))
    content_text = _str(item.get("content_text"))
    content = content_html or (text_to_html(content_text) if content_text else "") or summary_html
    return RawItem(
        guid=_id(item.get("id")),
        url=_url(item.get("url"), base) or _url(item.get("external_url"), base),
        title=_str(item.get("title")) or "",
        content_html=content,
        summary_html=summary_html,
        author=_author(item) or feed_author,
        publisher=None,
        published=_str(item.get("date_published")),
        updated=_str(item.get("date_modified")),
        categories=_tags(item.get("tags")),
        attachments=_attachments(item.get("attachments"), base),
    )


def _attachments(value: Any, base: str) -> tuple[Attachment, ...]:
    if not isinstance(value, list):
        return ()
    out: dict[str, Attachment] = {}
    for entry in value:
        if not isinstance(entry, dict):
            continue
        found = attachment(
            entry.get("url"),
            base=base,
            title=entry.get("title"),
            mime_type=entry.get("mime_type"),
            length=entry.get("size_in_bytes"),
        )
        if found is not None:
            out.setdefault(found.url, found)
    return tuple(out.values())


def _author(node: Mapping[str, Any]) -> str | None:
    """The first named author: ``authors`` (1.1), else ``author`` (1.0)."""
    authors = node.get("authors")
    candidates = authors if isinstance(authors, list) else []
    candidates = [*candidates, node.get("author")]
    for author in candidates:
        if isinstance(author, dict):
            name = _str(author.get("name"))
            if name:
                return name
    return None


def _tags(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    out: dict[str, None] = {}
    for tag in value:
        text = _str(tag)
        if text:
            out.setdefault(text, None)
    return tuple(out)


def _id(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return _str(str(value))


def _url(value: Any, base: str) -> str | None:
    text = _str(value)
    return urljoin(base, text) if text else None


def _str(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text or None
