"""Plain data passed between the pipeline stages. Frozen, no I/O, JSON-friendly.

SourceConfig / ChannelConfig / WebhookConfig / Config   the operator's file, validated
FetchResult      what fetch.http returns for one URL (200 with bytes, or 304)
ParsedFeed       what parse.feed makes of the bytes: feed metadata + RawItem list
Attachment       a file published with an entry (feed enclosure, PDF/DOC/XLS linked from an article page)
RawItem          one entry as the source gave it (strings, unsanitized HTML, raw date text)
Item             one entry normalized: canonical URL, UTC times, sanitized HTML, plain text, hash
Provenance       where a published article came from (the original sighting) and where else it was seen
PublishedItem    what publish.feeds and publish.webhooks render: an article + provenance + attribution
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class SourceConfig:
    id: str
    name: str  # publisher named as 来源 when an item names none
    kind: str  # "feed"
    url: str
    interval: timedelta = timedelta(minutes=15)
    priority: int = 0
    timezone: str = "UTC"
    rate: float | None = None  # requests/s to this source's host (None: the default, 1/s)
    min_interval: timedelta | None = None  # bounds of the adaptive interval (None: the interval itself)
    max_interval: timedelta | None = None
    robots: bool = True  # honour robots.txt (turn off only with the site's consent)
    # kind = "page" only
    links: str | None = None  # CSS selector of the article links on the list page (None: automatic)
    pages: int = 1  # list pages read per poll (pagination depth)
    backfill: int = 200  # at most this many articles on the first poll
    selectors: tuple[
        tuple[str, str], ...
    ] = ()  # field -> CSS selector (title, body, published, source, author)
    allow_hosts: tuple[str, ...] = ()  # article hosts allowed besides the list page's own


@dataclass(frozen=True)
class ChannelConfig:
    id: str
    title: str
    sources: tuple[str, ...]  # ("*",) means every source
    template: str = "zh"
    description: str = ""
    limit: int = 50
    disclaimer: str | None = None  # overrides the template's / [attribution] disclaimer

    def includes(self, source_id: str) -> bool:
        return "*" in self.sources or source_id in self.sources


@dataclass(frozen=True)
class WebhookConfig:
    id: str
    url: str
    channels: tuple[str, ...]
    secret: str  # "whsec_<base64>" (the secret itself, already resolved from secret_env)


@dataclass(frozen=True)
class Config:
    path: str
    sources: tuple[SourceConfig, ...] = ()
    channels: tuple[ChannelConfig, ...] = ()
    webhooks: tuple[WebhookConfig, ...] = ()
    disclaimers: Mapping[str, str] = field(default_factory=dict)  # template name -> disclaimer text
    template_dirs: tuple[str, ...] = ()  # operator template folders, searched before the shipped ones

    def source(self, source_id: str) -> SourceConfig | None:
        return next((s for s in self.sources if s.id == source_id), None)

    def channel(self, channel_id: str) -> ChannelConfig | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    def channels_for_source(self, source_id: str) -> tuple[ChannelConfig, ...]:
        return tuple(c for c in self.channels if c.includes(source_id))


@dataclass(frozen=True)
class FetchResult:
    url: str  # the URL finally answered (after redirects)
    status: int  # 200..299, or 304
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    etag: str | None = None
    last_modified: str | None = None
    elapsed_ms: float = 0.0
    redirects: tuple[str, ...] = ()  # every URL redirected from, in order
    permanent_redirect: str | None = None  # the target of a 301/308 chain, if every hop was permanent

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


@dataclass(frozen=True)
class Attachment:
    """A file published with an article: a PDF/DOC/XLS linked from an official page, or a feed enclosure."""

    url: str  # absolute
    title: str | None = None  # the link text (附件1：名单.pdf), or the enclosure's title
    mime_type: str | None = None  # from the feed, else guessed from the file name
    length: int | None = None  # bytes, when the feed says

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Attachment:
        known: dict[str, Any] = {k: d.get(k) for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


@dataclass(frozen=True)
class RawItem:
    """One entry as the source gave it. Everything is a string or None; HTML is not yet sanitized."""

    guid: str | None = None
    url: str | None = None
    title: str = ""
    content_html: str = ""  # full content if the feed has it, else the summary
    summary_html: str = ""
    author: str | None = None
    publisher: str | None = None  # 来源 as the entry names it (dc:publisher, dc:source, <source>)
    published: str | None = None  # raw date text as in the feed
    updated: str | None = None
    categories: tuple[str, ...] = ()
    base: str | None = None  # an explicit xml:base for the content's relative URLs (Atom), if any
    attachments: tuple[Attachment, ...] = ()  # enclosures / linked files, as the source gave them

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["categories"] = list(self.categories)
        d["attachments"] = [a.to_json() for a in self.attachments]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RawItem:
        known: dict[str, Any] = {k: d.get(k) for k in cls.__dataclass_fields__ if k in d}
        known["categories"] = tuple(d.get("categories") or ())
        known["attachments"] = tuple(
            Attachment.from_json(a)
            for a in d.get("attachments") or ()
            if isinstance(a, Mapping) and isinstance(a.get("url"), str)
        )
        return cls(**known)


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    link: str | None  # the site's home page, if the feed names it
    items: tuple[RawItem, ...]
    format: str  # "rss20", "atom10", "rdf", "json", ...
    encoding: str | None = None  # the encoding the bytes were read in
    warning: str | None = None  # feedparser's bozo message when the feed was read in spite of it


@dataclass(frozen=True)
class Item:
    """One entry normalized. Times are tz-aware UTC; HTML is sanitized; URLs are absolute."""

    source_id: str
    guid: str | None
    url: str | None  # absolute, as given (fragment dropped); the "original link"
    canonical_url: str | None  # url with tracking parameters removed, host lower-cased, ...
    title: str
    content_html: str  # sanitized
    content_text: str  # plain text of content_html
    summary: str  # plain-text summary (first ~200 characters when the feed gives none)
    author: str | None
    publisher: str | None  # 来源 named by the entry itself; None when it names none
    published_at: datetime | None
    updated_at: datetime | None
    categories: tuple[str, ...]
    content_hash: str  # stable hash of the normalized content (versioned), see process.normalize
    link: str | None = None  # the absolute link exactly as given, fragment included (the entry's key)
    attachments: tuple[Attachment, ...] = ()  # http(s) URLs, deduplicated, in the source's order


@dataclass(frozen=True)
class Sighting:
    """One place an article was seen."""

    source_id: str
    source_name: str
    url: str | None
    seen_at: datetime
    published_at: datetime | None = None


@dataclass(frozen=True)
class Provenance:
    original_url: str | None
    publisher: str  # 来源: the entry's own publisher, else the source's name
    author: str | None  # None means unknown (rendered 佚名 / Anonymous)
    published_at: datetime | None
    source_id: str  # the source the original was fetched from
    source_name: str
    also_at: tuple[Sighting, ...] = ()  # every other place it was seen


@dataclass(frozen=True)
class PublishedItem:
    article_id: int
    guid: str  # stable id of the published item (urn:syndication:article:<id> style, set by storage)
    title: str
    link: str | None
    content_html: str  # the article body, sanitized
    content_text: str
    summary: str
    categories: tuple[str, ...]
    published_at: datetime  # for ordering: the original's publish time, else first seen
    updated_at: datetime
    provenance: Provenance
    attribution_html: str  # the item as republished (channel template): header, body, 原文链接, disclaimer
    attribution_text: str  # the same, as plain text (the shape of shared/seed/reprint-example.txt)
    template: str = "zh"
    attachments: tuple[Attachment, ...] = ()  # the original's files (RSS enclosure, Atom/JSON attachments)
