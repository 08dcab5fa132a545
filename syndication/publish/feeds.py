"""Render a channel's published items as RSS 2.0 or Atom 1.0 bytes (with feedgen) or JSON Feed 1.1.

    render_feed(fmt, channel, items, site_url=, feed_url=, updated=) -> bytes
        "rss"  -> render_rss    RSS 2.0 + atom:link rel=self + content/dc/syn namespaces
        "atom" -> render_atom   Atom 1.0 (RFC 4287) + dc/syn namespaces
        "json" -> render_json   JSON Feed 1.1 (https://jsonfeed.org/version/1.1) + ``_syndication``

The functions are pure: same arguments, byte-identical output. feedgen stamps ``now()`` into a new
feed's ``updated``/``lastBuildDate`` and into each new entry's ``updated``; every one of those is set
explicitly here from the arguments, so no clock is read. ``updated`` is the time the channel's content
last changed (the caller knows it), which makes the bytes, and so the ETag, change only with content.
(JSON Feed has no feed-level time, so ``render_json`` takes ``updated`` only to share the signature.)

Items are ordered newest first (``published_at`` desc, then ``article_id`` desc) and cut to
``channel.limit`` (the caller may have cut already; this cuts again). All times are written in UTC.

Where each field of a :class:`~syndication.models.PublishedItem` goes:

    =====================  ==========================================  ==========================================
    item                   RSS 2.0                                     Atom 1.0
    =====================  ==========================================  ==========================================
    guid                   <guid isPermaLink="false">                  <id>
    title                  <title>                                     <title>
    link (the original)    <link>                                      <link rel="alternate">
    attribution_html       <description> (escaped HTML)                <content type="html">
    summary                (not written: see below)                    <summary> (plain text)
    published_at           <pubDate>                                   <published>
    updated_at             (RSS has no per-item updated)               <updated>
    provenance.author      <dc:creator>                                <author><name>
    provenance.publisher   <source url="original_url">, <dc:publisher> <source><title>/<link>, <dc:publisher>
    categories             <category> each                             <category term=""> each
    attachments            <enclosure url length type> (the first)     <link rel="enclosure" href type length
                                                                       title> each
    provenance (all)       <syn:provenance>                            <syn:provenance>
    =====================  ==========================================  ==========================================

and in JSON Feed 1.1: guid ``id``, title ``title``, link ``url``, attribution_html ``content_html``,
attribution_text ``content_text``, summary ``summary``, published_at ``date_published``, updated_at
``date_modified`` (RFC 3339, UTC with ``Z``), provenance.author ``authors: [{"name"}]`` (left out when
unknown), categories ``tags``, attachments ``attachments: [{"url", "mime_type", "title",
"size_in_bytes"}]`` (each), provenance (all) ``_syndication`` (see below). The feed's ``title``,
``description`` and ``language`` are those of RSS and Atom; ``home_page_url`` is the site,
``feed_url`` the JSON feed's own URL (as the RSS/Atom self links).

Choices:

* The content is the *attributed* item (header, body, 原文链接, 免责声明), never the bare body, so no reader
  can show the article without its attribution. RSS has one text field per item, so ``<description>``
  carries the attributed HTML (escaped, not CDATA: CDATA cannot hold ``]]>``), and the plain-text
  summary is left out rather than put in a place simple readers would show instead of the content.
* RSS ``<author>`` must be an e-mail address, which official sources never give, so the author goes
  in ``<dc:creator>`` (feedparser and most readers read it as the author). An unknown author is written
  as the template renders it (佚名 / Anonymous), matching the attribution text, and Atom needs an author
  anyway; the machine-readable ``syn:provenance`` leaves it out instead, so "unknown" stays unknown.
* RSS ``<source url>`` is meant to name the source's feed; provenance does not carry that URL, so it
  points at the original article, which is what the element is for: giving credit with a link.
* RSS 2.0 allows one ``<enclosure>`` per item, and its three attributes are required: the first
  attachment is written, with ``length="0"`` when the size is unknown (the RSS Advisory Board's advice)
  and ``type="application/octet-stream"`` when the type is. Atom allows any number; ``type`` and
  ``length`` are optional there (RFC 4287 4.2.7), so an unknown one is left out rather than made up.
  Every attachment is also listed in the attributed HTML (the channel template).
* Characters XML 1.0 cannot carry (C0 controls other than tab/newline/CR, U+FFFE, U+FFFF, lone
  surrogates) are dropped from every string, so hostile input cannot make lxml raise. The JSON feed
  drops them too: every format then carries the same text, and a lone surrogate cannot be encoded
  as UTF-8 anyway.
* JSON Feed is built by hand (feedgen writes no JSON Feed): a dict in a fixed key order, dumped
  compact, UTF-8 (not ``\\u`` escapes). An attachment's ``mime_type`` is required there, so an unknown
  one is written ``application/octet-stream`` (as the RSS enclosure's ``type``); an unknown title or
  size is left out, and so are empty ``summary``, ``tags`` and ``attachments``.

The provenance namespace, ``PROVENANCE_NS`` (prefix ``syn``), is stable: change the ``/1`` only for an
incompatible change. Its element names are the keys of the webhook payload's ``data.provenance``, and
its times are ISO 8601 UTC with ``Z``, as in the webhook payload::

    <syn:provenance>
      <syn:original_url>https://www.spp.gov.cn/.../t20231201_635358.shtml</syn:original_url>
      <syn:publisher>中华人民共和国最高人民检察院</syn:publisher>
      <syn:author>...</syn:author>                       (absent when unknown)
      <syn:published_at>2023-12-01T00:30:00Z</syn:published_at>   (absent when unknown)
      <syn:source_id>spp</syn:source_id>
      <syn:source_name>最高人民检察院</syn:source_name>
      <syn:also_at source_id="..." source_name="..." url="..." seen_at="..." published_at="..."/>  (each)
    </syn:provenance>

feedparser exposes these as ``entry.syn_publisher`` etc. but flattens repeated elements (it keeps one
``syn_also_at``); read the list with an XML parser, or take it from the webhook payload.

The JSON feed carries the same record as each item's ``_syndication`` extension object (JSON Feed
1.1: custom keys start with ``_`` and readers ignore what they do not know): exactly the webhook
payload's ``data.provenance`` (``webhooks.provenance_json``: every key present, unknown values
``null``), plus ``about`` = ``PROVENANCE_NS`` as the spec suggests for extensions::

    "_syndication": {"about": "https://github.com/syndication/syndication/ns/provenance/1",
                     "original_url": "...", "publisher": "...", "author": null,
                     "published_at": "2023-12-01T00:30:00Z", "source_id": "spp",
                     "source_name": "最高人民检察院", "also_at": [{"source_id", "source_name", "url",
                                                                  "seen_at", "published_at"}]}
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from syndication import __version__
from syndication.models import Attachment, ChannelConfig, Provenance, PublishedItem
from syndication.publish.webhooks import attachment_json, provenance_json

__all__ = [
    "FEED_MEDIA_TYPES",
    "JSON_FEED_VERSION",
    "PROVENANCE_NS",
    "render_atom",
    "render_feed",
    "render_json",
    "render_rss",
]

FEED_MEDIA_TYPES: dict[str, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"

PROVENANCE_NS = "https://github.com/syndication/syndication/ns/provenance/1"
PROVENANCE_PREFIX = "syn"
_DC_NS = "http://purl.org/dc/elements/1.1/"

_LANGUAGES = {"zh": "zh-CN", "en": "en"}  # channel template -> feed language; other templates: none
_ANONYMOUS = {"zh": "佚名", "en": "Anonymous"}
_UNTITLED = {"zh": "（无标题）", "en": "(untitled)"}
UNKNOWN_MIME_TYPE = "application/octet-stream"

# XML 1.0 Char excludes these; lxml raises ValueError on them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render_feed(
    fmt: str,
    channel: ChannelConfig,
    items: Sequence[PublishedItem],
    *,
    site_url: str,
    feed_url: str,
    updated: datetime,
) -> bytes:
    """Render ``items`` as the feed format ``fmt`` ("rss", "atom" or "json"); ValueError for any other."""
    if fmt == "rss":
        return render_rss(channel, items, site_url=site_url, feed_url=feed_url, updated=updated)
    if fmt == "atom":
        return render_atom(channel, items, site_url=site_url, feed_url=feed_url, updated=updated)
    if fmt == "json":
        return render_json(channel, items, site_url=site_url, feed_url=feed_url, updated=updated)
    raise ValueError(f"unknown feed format {fmt!r}; expected one of {sorted(FEED_MEDIA_TYPES)}")


def render_rss(
    channel: ChannelConfig,
    items: Sequence[PublishedItem],
    *,
    site_url: str,
    feed_url: str,
    updated: datetime,
) -> bytes:
    """RSS 2.0 bytes (UTF-8, with XML declaration) for ``channel`` holding ``items``."""
    fg = _feed(channel, site_url=site_url, feed_url=feed_url, updated=updated, fmt="rss")
    for item in _newest_first(items, channel.limit):
        fe = fg.add_entry(order="append")
        fe.guid(_x(item.guid), permalink=False)
        fe.title(_title(item))
        if item.link:
            fe.link(href=_x(item.link), rel="alternate")
        fe.description(_x(item.attribution_html))
        fe.published(_utc(item.published_at))
        fe.dc.dc_creator(_author(item))
        if item.attachments:  # RSS 2.0: at most one enclosure per item
            first = item.attachments[0]
            fe.link(
                href=_x(first.url),
                rel="enclosure",
                type=_x(first.mime_type or "") or UNKNOWN_MIME_TYPE,
                length=str(first.length) if first.length is not None else "0",
            )
        _common(fe, item)
    return bytes(fg.rss_str(pretty=False, encoding="UTF-8", xml_declaration=True))


def render_atom(
    channel: ChannelConfig,
    items: Sequence[PublishedItem],
    *,
    site_url: str,
    feed_url: str,
    updated: datetime,
) -> bytes:
    """Atom 1.0 bytes (UTF-8, with XML declaration) for ``channel`` holding ``items``."""
    fg = _feed(channel, site_url=site_url, feed_url=feed_url, updated=updated, fmt="atom")
    for item in _newest_first(items, channel.limit):
        fe = fg.add_entry(order="append")
        fe.id(_x(item.guid))
        fe.title(_title(item))
        if item.link:
            fe.link(href=_x(item.link), rel="alternate")
        fe.content(_x(item.attribution_html), type="html")
        if item.summary:
            fe.summary(_x(item.summary))
        fe.published(_utc(item.published_at))
        fe.updated(_utc(item.updated_at))
        fe.author(name=_author(item))
        # Not fe.link(rel="enclosure"): feedgen 1.0 writes an Atom entry's links with href alone, which
        # would make each file an alternate link. The extension writes them (see _append_enclosures).
        fe.syn.attachments = item.attachments
        _common(fe, item)
    return bytes(fg.atom_str(pretty=False, encoding="UTF-8", xml_declaration=True))


def render_json(
    channel: ChannelConfig,
    items: Sequence[PublishedItem],
    *,
    site_url: str,
    feed_url: str,
    updated: datetime,
) -> bytes:
    """JSON Feed 1.1 bytes (UTF-8, compact) for ``channel`` holding ``items``. ``updated`` is only
    checked (tz-aware): JSON Feed has no feed-level time."""
    _utc(updated)
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": _channel_title(channel),
        "home_page_url": _x(site_url),
        "feed_url": _x(feed_url),
        "description": _channel_description(channel),
    }
    if language := _LANGUAGES.get(channel.template):
        feed["language"] = language
    feed["items"] = [_json_item(item) for item in _newest_first(items, channel.limit)]
    text = json.dumps(feed, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def _json_item(item: PublishedItem) -> dict[str, Any]:
    out: dict[str, Any] = {"id": _x(item.guid)}
    if item.link:
        out["url"] = _x(item.link)
    out["title"] = _title(item)
    out["content_html"] = _x(item.attribution_html)
    out["content_text"] = _x(item.attribution_text)
    if item.summary:
        out["summary"] = _x(item.summary)
    out["date_published"] = _iso(item.published_at)
    out["date_modified"] = _iso(item.updated_at)
    if author := _known_author(item):  # unknown stays unknown (no 佚名 / Anonymous, as in syn:provenance)
        out["authors"] = [{"name": author}]
    if tags := _tags(item):
        out["tags"] = tags
    if item.attachments:
        out["attachments"] = [_json_attachment(a) for a in item.attachments]
    out["_syndication"] = {"about": PROVENANCE_NS, **_json_strings(provenance_json(item.provenance))}
    return out


def _json_attachment(a: Attachment) -> dict[str, Any]:
    """The webhook's attachment object without its nulls; ``mime_type`` is required by JSON Feed."""
    out = {k: v for k, v in _json_strings(attachment_json(a)).items() if v is not None and v != ""}
    out["mime_type"] = out.get("mime_type") or UNKNOWN_MIME_TYPE
    return out


def _json_strings(value: Any) -> Any:
    """``value`` (dicts, lists, scalars) with :func:`_x` applied to every string."""
    if isinstance(value, str):
        return _x(value)
    if isinstance(value, dict):
        return {k: _json_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_strings(v) for v in value]
    return value


# --- the parts the formats share ------------------------------------------------------------------


def _feed(channel: ChannelConfig, *, site_url: str, feed_url: str, updated: datetime, fmt: str) -> Any:
    fg = FeedGenerator()
    fg.load_extension("dc")
    fg.register_extension(PROVENANCE_PREFIX, _ProvenanceFeedExtension, _ProvenanceEntryExtension)
    fg.id(_x(feed_url))  # Atom id: must be globally unique and permanent; the feed's URL is both
    fg.title(_channel_title(channel))
    fg.description(_channel_description(channel))  # also atom:subtitle
    # feedgen uses the *last* link as RSS <link>, so the self link goes first.
    fg.link(href=_x(feed_url), rel="self", type=FEED_MEDIA_TYPES[fmt].split(";")[0])
    fg.link(href=_x(site_url), rel="alternate")
    language = _LANGUAGES.get(channel.template)
    if language:
        fg.language(language)  # RSS <language>, Atom xml:lang
    fg.generator("syndication", version=__version__)
    fg.updated(_utc(updated))  # Atom <updated> and RSS <lastBuildDate>; feedgen's default is now()
    return fg


def _common(fe: Any, item: PublishedItem) -> None:
    prov = item.provenance
    for term in _tags(item):
        fe.category(term=term)
    original = prov.original_url or item.link
    if original and prov.publisher:
        fe.source(url=_x(original), title=_x(prov.publisher))
    if prov.publisher:
        fe.dc.dc_publisher(_x(prov.publisher))
    fe.syn.provenance = prov


def _newest_first(items: Sequence[PublishedItem], limit: int) -> list[PublishedItem]:
    ordered = sorted(items, key=lambda i: (_utc(i.published_at), i.article_id), reverse=True)
    return ordered[: max(limit, 0)]


def _title(item: PublishedItem) -> str:
    return _x(item.title).strip() or _UNTITLED.get(item.template, _UNTITLED["en"])


def _author(item: PublishedItem) -> str:
    return _known_author(item) or _ANONYMOUS.get(item.template, _ANONYMOUS["en"])


def _known_author(item: PublishedItem) -> str:
    """The author's name, or "" when unknown."""
    return _x(item.provenance.author or "").strip()


def _tags(item: PublishedItem) -> list[str]:
    """The categories, cleaned, de-duplicated (order kept), blank ones left out."""
    return [term for term in dict.fromkeys(_x(c) for c in item.categories) if term.strip()]


def _channel_title(channel: ChannelConfig) -> str:
    return _x(channel.title) or channel.id


def _channel_description(channel: ChannelConfig) -> str:
    return _x(channel.description) or _channel_title(channel)


def _x(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry."""
    return _NOT_XML.sub("", text) if text else text


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(
            f"naive datetime {dt.isoformat()}: times given to the feed renderer must be tz-aware"
        )
    return dt.astimezone(UTC)


def _iso(dt: datetime) -> str:
    return _utc(dt).isoformat().replace("+00:00", "Z")


# --- the syn:provenance element (a feedgen extension) ---------------------------------------------


class _ProvenanceFeedExtension(BaseExtension):
    """Declares the ``syn`` namespace on the feed's root element."""

    def extend_ns(self) -> dict[str, str]:
        return {PROVENANCE_PREFIX: PROVENANCE_NS}


class _ProvenanceEntryExtension(BaseEntryExtension):
    """Appends ``<syn:provenance>`` to an RSS item or Atom entry."""

    def __init__(self) -> None:
        self.provenance: Provenance | None = None
        self.attachments: tuple[Attachment, ...] = ()  # Atom only: <link rel="enclosure"> each

    def extend_ns(self) -> dict[str, str]:
        return {PROVENANCE_PREFIX: PROVENANCE_NS}

    def extend_rss(self, entry: Any) -> Any:
        if self.provenance is not None:
            _append_provenance(entry, self.provenance)
        return entry

    def extend_atom(self, entry: Any) -> Any:
        _append_enclosures(entry, self.attachments)
        return self.extend_rss(entry)


def _append_enclosures(entry: Any, attachments: Sequence[Attachment]) -> None:
    """``<link rel="enclosure" href type length title>`` per attachment; an unknown type or length is
    left out (both are optional in RFC 4287). Unqualified names, as feedgen writes its own elements
    (its root element declares the Atom namespace as the default)."""
    for a in attachments:
        attrs = {"rel": "enclosure", "href": _x(a.url)}
        if a.mime_type:
            attrs["type"] = _x(a.mime_type)
        if a.length is not None:
            attrs["length"] = str(a.length)
        if a.title:
            attrs["title"] = _x(a.title)
        etree.SubElement(entry, "link", attrs)


def _append_provenance(parent: Any, prov: Provenance) -> None:
    root = etree.SubElement(parent, _SYN["provenance"])
    fields = (
        ("original_url", prov.original_url),
        ("publisher", prov.publisher),
        ("author", prov.author),
        ("published_at", _iso(prov.published_at) if prov.published_at else None),
        ("source_id", prov.source_id),
        ("source_name", prov.source_name),
    )
    for name, value in fields:
        if value:
            etree.SubElement(root, _SYN[name]).text = _x(value)
    for s in prov.also_at:
        attrs = (
            ("source_id", s.source_id),
            ("source_name", s.source_name),
            ("url", s.url),
            ("seen_at", _iso(s.seen_at)),
            ("published_at", _iso(s.published_at) if s.published_at else None),
        )
        etree.SubElement(root, _SYN["also_at"], {k: _x(v) for k, v in attrs if v})


_SYN = {
    name: f"{{{PROVENANCE_NS}}}{name}"
    for name in (
        "provenance",
        "original_url",
        "publisher",
        "author",
        "published_at",
        "source_id",
        "source_name",
        "also_at",
    )
}
