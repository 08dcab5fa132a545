"""Turn a RawItem into an Item: clean text, absolute and canonical URLs, UTC times, sanitized HTML, hash.

    normalize_item(raw, source, base_url=..., now=...)
        title      clean_title(raw.title), else the start of the text, else the URL, else "(untitled)"
        url        absolute_url(raw.url)            the original link, as given (fragment dropped)
        canonical  canonical_url(url)               tracking parameters removed, for deduplication
        content    sanitize_html(...) LAST, then html_to_text(...)
        times      parse_datetime(..., tz=source.timezone), future times clamped to ``now``
        hash       content_hash(title, text)    (attachments are not hashed: see normalize_item)
        attachments  http(s) only, deduplicated by URL in order, at most MAX_ATTACHMENTS

Pure: time and the source's settings are arguments; nothing here does I/O or reads globals.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_tz
from urllib.parse import SplitResult, quote, urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syndication.models import Attachment, Item, RawItem, SourceConfig
from syndication.process.attachments import attachment
from syndication.process.sanitize import html_to_text, sanitize_html

__all__ = [
    "CONTENT_HASH_VERSION",
    "absolute_url",
    "canonical_url",
    "clean_title",
    "content_hash",
    "normalize_item",
    "parse_datetime",
]

CONTENT_HASH_VERSION = 1
SUMMARY_CHARS = 200
TITLE_FALLBACK_CHARS = 60
HASH_TITLE_BELOW = 200  # normalized body shorter than this: the title is hashed too
NAME_CHARS = 300  # author / publisher are cut to this (database column width)
MAX_ATTACHMENTS = 50  # an entry's attachments beyond this are dropped (a real notice has a handful)
FUTURE_TOLERANCE = timedelta(days=1)

_TAG = re.compile(r"</?[A-Za-z!][^<>]*>")
_WHITESPACE = re.compile(r"\s+")  # str patterns: includes U+3000 and U+00A0
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_title(text: str) -> str:
    """One line of text: tags stripped, entities decoded, NFC, whitespace collapsed, trimmed.

    Full-width spaces (U+3000), no-break spaces and newlines become one ASCII space; zero-width and
    control characters are removed. Used for titles, authors, publishers and categories.
    """
    if not text:
        return ""
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = unicodedata.normalize("NFC", _INVISIBLE.sub("", text))
    return _WHITESPACE.sub(" ", text).strip()


# --- URLs -------------------------------------------------------------------------------------------

_UNUSABLE_SCHEMES = {"javascript", "data", "vbscript", "about", "blob"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Query parameters removed by canonical_url: only ones that never identify content (analytics and
# click ids). Anything else, including ``from``/``ref``/``source`` in general, is kept.
_TRACKING_PREFIXES = ("utm_",)
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid",
        "_hsenc", "_hsmi", "igshid", "_ga", "_gl", "spm", "isappinstalled",
    }
)  # fmt: skip
# WeChat share links append from=timeline etc.; any other ``from`` value is kept (it may be an offset).
_TRACKING_VALUES = {"from": frozenset({"timeline", "singlemessage", "groupmessage"})}


def absolute_url(url: str | None, *, base_url: str | None) -> str | None:
    """``url`` joined with ``base_url``, fragment dropped, nothing else changed.

    None when ``url`` is empty, stays relative (no ``base_url``), has no host where it needs one, or
    is a ``javascript:``/``data:`` style URL that cannot be a link to an article.
    """
    parts = _absolute_parts(url, base_url)
    return None if parts is None else urlunsplit(parts)


def _absolute_with_fragment(url: str | None, base_url: str | None) -> str | None:
    if absolute_url(url, base_url=base_url) is None or url is None:
        return None
    try:
        return urljoin(base_url, url.strip()) if base_url else url.strip()
    except ValueError:
        return None


def _absolute_parts(url: str | None, base_url: str | None) -> SplitResult | None:
    if not url or not url.strip():
        return None
    try:
        parts = urlsplit(urljoin(base_url, url.strip()) if base_url else url.strip())
    except ValueError:  # e.g. an invalid IPv6 literal
        return None
    if not parts.scheme or parts.scheme in _UNUSABLE_SCHEMES:
        return None
    if parts.scheme in _DEFAULT_PORTS and not parts.netloc:
        return None
    return parts._replace(fragment="")


def canonical_url(url: str | None, *, base_url: str | None = None) -> str | None:
    """The URL used to recognize the same entry: ``absolute_url`` plus normalization.

    Scheme and host are lower-cased, IDN hosts become punycode, default ports go, an empty path
    becomes ``/`` and tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ... see
    ``_TRACKING_PARAMS``) are removed. Every other query parameter is kept, byte for byte and in its
    original order: CMSs such as ``article.php?id=1`` identify content by them, and some care about
    order. Paths and percent-encoding are left alone. Non-http(s) URLs come back as ``absolute_url``
    gives them. None when the URL is unusable (see ``absolute_url``) or its port is invalid.
    """
    parts = _absolute_parts(url, base_url)
    if parts is None:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return urlunsplit(parts)
    try:
        port = parts.port
    except ValueError:
        return None
    host = _idna(parts.hostname or "")
    if not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username is not None or parts.password is not None:
        netloc = parts.netloc.rpartition("@")[0] + "@" + netloc
    return urlunsplit((scheme, netloc, parts.path or "/", _strip_tracking(parts.query), ""))


def _idna(host: str) -> str:
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _strip_tracking(query: str) -> str:
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        key = key.lower()
        if key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES):
            continue
        if value.lower() in _TRACKING_VALUES.get(key, ()):
            continue
        kept.append(pair)
    return "&".join(kept)


# --- dates --------------------------------------------------------------------------------------------

# Y-M-D with -, / or . and an optional time and zone; also ISO 8601 / RFC 3339 ("T", "Z", fractions).
_NUMERIC_DATE = re.compile(
    r"(?<!\d)(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?!\d)"
    r"(?:(?:[Tt]\s*|\s+|-(?=\d{1,2}:\d{2}))(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*([Zz](?![A-Za-z])|(?:UTC|GMT)?\s*[+-]\d{1,2}(?::?\d{2})?(?!\d)|UTC|GMT)?"
)
_CHINESE_DATE = re.compile(
    r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?"
    r"(?:\s*(\d{1,2})\s*[:时點点]\s*(\d{1,2})\s*分?(?:\s*[:]?\s*(\d{1,2})\s*秒?)?)?"
)
_MONTH_NAME = re.compile(r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b")
# Zone names email.utils does not know, or knows differently. "CST" is China Standard Time (+08:00):
# our sources are Chinese, and Java-based CMSs (TRS WCM among them) print Date.toString() as
# "Sat Dec 02 08:30:00 CST 2023" meaning Beijing time. US Central "CST" is obsolete in RFC 822 dates.
_EXTRA_ZONES = {"CST": "+0800", "BJT": "+0800", "HKT": "+0800", "SGT": "+0800", "JST": "+0900", "KST": "+0900"}  # fmt: skip
_RFC822_ZONE = re.compile(r"\d:\d{2}(?::\d{2})?\s*(?:[A-Za-z]{1,5}\b|[+-]\d{2}:?\d{2})")
_EXTRA_ZONE = re.compile(r"\b(" + "|".join(_EXTRA_ZONES) + r")\b")


def parse_datetime(text: str | None, *, tz: str) -> datetime | None:
    """A tz-aware UTC datetime from feed or page date text, or None when there is none to be read.

    Understood: RFC 822 (``Fri, 01 Dec 2023 08:30:00 +0800``, obsolete zone names, Java's
    ``Sat Dec 02 08:30:00 CST 2023``), ISO 8601 / RFC 3339 (``T`` or space, ``Z``, offsets, fractions),
    ``2023-12-01 08:30[:00]``, ``2023/12/01``, ``2023.12.01``, ``2023年12月1日 08:30``, full-width digits,
    and any of these inside other text (``发布时间：2023-12-01 08:30``). Times with a zone are converted
    to UTC; naive times are read in ``tz`` (an IANA name such as ``Asia/Shanghai``); a date alone is
    midnight in ``tz``. "CST" means China Standard Time (+08:00), see ``_EXTRA_ZONES``.

    Never raises for bad text; implausible years are returned as read (the caller decides); a time
    that cannot be expressed in UTC (year 1 east of Greenwich, year 9999 west) is clamped to
    ``datetime.min``/``datetime.max`` in UTC. RFC 822 dates without a zone are read in ``tz``; an
    unknown zone name counts as UTC (RFC 5322). An unknown ``tz`` is a configuration error and raises
    ValueError.
    """
    zone = _zone(tz)
    if not text or not text.strip():
        return None
    text = unicodedata.normalize("NFKC", text).strip()
    try:
        return _parse(text, zone)
    except (ValueError, OverflowError, IndexError, TypeError):
        return None


def _zone(tz: str) -> tzinfo:
    if tz.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {tz!r} (expected an IANA name such as 'Asia/Shanghai')") from e


def _parse(text: str, zone: tzinfo) -> datetime | None:
    m = _NUMERIC_DATE.search(text)
    if m:
        y, mo, d, hh, mi, ss, frac, off = m.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        naive = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), min(int(ss or 0), 59), micro)
        return _to_utc(naive, _offset(off) if off else zone)
    m = _CHINESE_DATE.search(text)
    if m:
        y, mo, d, hh, mi, ss = m.groups()
        naive = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), min(int(ss or 0), 59))
        return _to_utc(naive, zone)
    if _MONTH_NAME.search(text):
        text = _EXTRA_ZONE.sub(lambda z: _EXTRA_ZONES[z.group(1)], text)
        parsed = parsedate_tz(text)
        if parsed is None:
            return _english_date(text, zone)
        y, mo, d, hh, mi, ss = parsed[:6]
        naive = datetime(y, mo, d, hh, mi, min(ss, 59))
        if not _RFC822_ZONE.search(text):  # parsedate_tz reports a missing zone as +0000
            return _to_utc(naive, zone)
        return _to_utc(naive, timezone(timedelta(seconds=parsed[9] or 0)))
    return None


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAY_MONTH_YEAR = re.compile(r"(?i)\b(\d{1,2})\s+([a-z]{3})[a-z]*\.?,?\s+(\d{4})\b")
_MONTH_DAY_YEAR = re.compile(r"(?i)\b([a-z]{3})[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4})\b")


def _english_date(text: str, zone: tzinfo) -> datetime | None:
    """A date alone, ``1 Dec 2023`` or ``December 1, 2023``: midnight in ``zone``."""
    if m := _DAY_MONTH_YEAR.search(text):
        day, month, year = m.groups()
    elif m := _MONTH_DAY_YEAR.search(text):
        month, day, year = m.groups()
    else:
        return None
    if month.lower() not in _MONTHS:
        return None
    return _to_utc(datetime(int(year), _MONTHS.index(month.lower()) + 1, int(day)), zone)


_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?")


def _offset(text: str) -> tzinfo:
    m = _OFFSET.fullmatch(text)
    if m is None:  # Z, UTC, GMT
        return UTC
    sign, hours, minutes = m.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    return timezone(-delta if sign == "-" else delta)


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def _to_utc(naive: datetime, zone: tzinfo) -> datetime:
    try:
        return naive.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01 00:00 in Asia/Shanghai is before year 1 in UTC
        return _EARLIEST if naive.year == datetime.min.year else _LATEST


# --- content hash ---------------------------------------------------------------------------------


def _hash_basis(text: str) -> str:
    return _WHITESPACE.sub("", _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))).lower()


def hashes_body_alone(text: str) -> bool:
    """True when ``content_hash`` covers the body alone (long enough to identify an article by itself):
    only then may equal hashes merge entries with different GUIDs and links."""
    return len(_hash_basis(text)) >= HASH_TITLE_BELOW


def content_hash(title: str, text: str) -> str:
    """Stable, versioned hash of an entry's content, for exact-duplicate detection.

    Rule (version 1): normalize with NFKC, remove every whitespace and zero-width character,
    lower-case. Hash the normalized body text alone, so a reprint with the same body matches even when
    its title or layout differs. When the normalized body is shorter than ``HASH_TITLE_BELOW`` (200)
    characters (title-only feeds, short notices, boilerplate such as "详见附件"), hash
    ``title + U+001F + body`` instead, so two different short entries do not collide. The digest is the sha256 hex of
    ``b"v<CONTENT_HASH_VERSION>\\x00" + basis.encode("utf-8")``; bump the version when the rule changes.
    """
    basis = _hash_basis(text)
    if len(basis) < HASH_TITLE_BELOW:
        basis = _hash_basis(title) + "\x1f" + basis
    return hashlib.sha256(f"v{CONTENT_HASH_VERSION}\x00{basis}".encode()).hexdigest()


# --- the item -----------------------------------------------------------------------------------------


def _truncate(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters (code points) with "…" when cut."""
    line = _WHITESPACE.sub(" ", text).strip()
    if len(line) <= limit:
        return line
    return line[: limit - 1].rstrip() + "…"


def _clean_optional(text: str | None, limit: int) -> str | None:
    cleaned = clean_title(text or "")
    return _truncate(cleaned, limit) if cleaned else None


def _without_nul(raw: RawItem) -> RawItem:
    """NUL characters (which PostgreSQL text cannot hold, and no feed means) removed from every field."""
    changes: dict[str, object] = {}
    for name in (
        "guid",
        "url",
        "title",
        "content_html",
        "summary_html",
        "author",
        "publisher",
        "published",
        "updated",
    ):
        value = getattr(raw, name)
        if isinstance(value, str) and "\x00" in value:
            changes[name] = value.replace("\x00", "")
    if any("\x00" in c for c in raw.categories):
        changes["categories"] = tuple(c.replace("\x00", "") for c in raw.categories)
    return replace(raw, **changes) if changes else raw  # type: ignore[arg-type]


def _categories(raw: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for category in raw:
        cleaned = clean_title(category)
        if cleaned and cleaned.casefold() not in seen:
            seen[cleaned.casefold()] = cleaned
    return tuple(seen.values())


def _attachments(raw: tuple[Attachment, ...], base_url: str | None) -> tuple[Attachment, ...]:
    """Vetted again (the RawItem went through the broker as JSON): http(s) URLs made absolute, titles
    cleaned like titles, first occurrence of each URL kept, in order, at most MAX_ATTACHMENTS.

    URLs are compared as canonical_url gives them with non-ASCII characters percent-encoded, so
    ``名单.pdf`` and ``%E5%90%8D%E5%8D%95.pdf`` (a page's raw link and the same link in its sanitized
    body) are one file; the first spelling is kept."""
    out: dict[str, Attachment] = {}
    for a in raw:
        if len(out) >= MAX_ATTACHMENTS:
            break
        if not isinstance(a, Attachment):
            continue
        title = clean_title(a.title) if isinstance(a.title, str) else None
        found = attachment(a.url, base=base_url, title=title, mime_type=a.mime_type, length=a.length)
        if found is not None:
            out.setdefault(_same_file_key(found.url), found)
    return tuple(out.values())


def _same_file_key(url: str) -> str:
    return quote(canonical_url(url) or url, safe="!#$%&'()*+,/:;=?@[]~")


def normalize_item(raw: RawItem, source: SourceConfig, *, base_url: str | None, now: datetime) -> Item:
    """Normalize one entry of ``source``; ``base_url`` resolves relative links (the feed's URL).

    A published time more than a day after ``now`` is clamped to ``now`` (a wrong clock or time zone
    on the source must not pin an entry to the top of every channel); the same holds for the updated
    time. A missing published time is taken from the updated time (RSS 1.0's dc:date, Atom entries with
    only <updated>); with neither it stays None and the caller decides (usually first-seen time). ``now`` is tz-aware; a naive ``now`` is taken as UTC.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    raw = _without_nul(raw)
    guid = (raw.guid or "").strip() or None
    link = raw.url
    if not link and guid and guid.lower().startswith(("http://", "https://")):
        link = guid  # an RSS guid that is a URL (even isPermaLink="false") is the best link there is
    url = absolute_url(link, base_url=base_url)
    body_html = raw.content_html or raw.summary_html
    # relative URLs in the content: an explicit xml:base, else the entry's own page, else the feed
    content_base = absolute_url(raw.base, base_url=base_url) or url or base_url
    content_html = sanitize_html(body_html, base_url=content_base)
    content_text = html_to_text(content_html)
    summary_text = html_to_text(raw.summary_html) if raw.summary_html != body_html else ""
    if not summary_text or summary_text == content_text:
        summary_text = _truncate(content_text, SUMMARY_CHARS)
    title = clean_title(raw.title) or _truncate(content_text, TITLE_FALLBACK_CHARS) or url or "(untitled)"
    return Item(
        source_id=source.id,
        guid=guid,
        url=url,
        link=_absolute_with_fragment(link, base_url),
        canonical_url=canonical_url(url),
        title=title,
        content_html=content_html,
        content_text=content_text,
        summary=summary_text,
        author=_clean_optional(raw.author, NAME_CHARS),
        publisher=_clean_optional(raw.publisher, NAME_CHARS),
        # RSS 1.0 / dc:date and Atom entries with only <updated> date themselves by their update time
        published_at=_clamp(parse_datetime(raw.published or raw.updated, tz=source.timezone), now),
        updated_at=_clamp(parse_datetime(raw.updated, tz=source.timezone), now),
        categories=_categories(raw.categories),
        # Attachments are deliberately left out of the hash. The hash finds the same article at other
        # sources (a reprint that re-hosts or omits the PDF must still match) and is the key of
        # entries with neither GUID nor link (an added file must update that entry, not make a
        # second one). An attachment added to a notice is still an update: storage compares every
        # field of a sighting, attachments included, and re-renders the article's channels when one changed.
        content_hash=content_hash(title, content_text),
        attachments=_attachments(raw.attachments, content_base),
    )


def _clamp(when: datetime | None, now: datetime) -> datetime | None:
    if when is not None and when > now + FUTURE_TOLERANCE:
        return now.astimezone(UTC)
    return when
