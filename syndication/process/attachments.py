"""Vetting attachments (feed enclosures, JSON Feed attachments, files linked from article pages).

    attachment(url, base=..., title=..., mime_type=..., length=...) -> Attachment | None
        url        joined with ``base``, fragment dropped; None (no attachment) unless http(s) with a host
        title      one line, trimmed, at most TITLE_CHARS characters; None when empty
        mime_type  ``type/subtype`` lower-cased, parameters dropped; else guessed from the file name
        length     an int when the value is a non-negative integer (int, integral float or digits),
                   else None (the attachment is kept: a wrong length is no reason to lose the file)

Pure and forgiving: never raises for bad input, whatever its type (the values come from feeds and
from JSON that went through the broker).
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from syndication.models import Attachment

__all__ = ["MAX_LENGTH", "TITLE_CHARS", "attachment", "clean_mime_type", "file_name", "parse_length"]

TITLE_CHARS = 300
MAX_LENGTH = 2**63 - 1  # what a BIGINT holds; a larger "length" is garbage
_MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_DIGITS = re.compile(r"\d{1,19}")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s+")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def attachment(
    url: Any,
    *,
    base: str | None,
    title: Any = None,
    mime_type: Any = None,
    length: Any = None,
) -> Attachment | None:
    """The vetted attachment, or None when ``url`` is not a usable http(s) URL."""
    absolute = _http_url(url, base)
    if absolute is None:
        return None
    return Attachment(
        url=absolute,
        title=_title(title),
        mime_type=clean_mime_type(mime_type) or _guess(absolute),
        length=parse_length(length),
    )


def parse_length(value: Any) -> int | None:
    """A size in bytes: a non-negative int, an integral float or a string of digits; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            return None
        number = int(value)
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if 0 <= number <= MAX_LENGTH else None


def clean_mime_type(value: Any) -> str | None:
    """``type/subtype`` lower-cased without parameters, or None when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    media = value.split(";", 1)[0].strip().lower()
    return media if _MIME.fullmatch(media) else None


def file_name(url: str) -> str:
    """The last path segment of ``url``, percent-decoded (``名单.pdf``), else the URL itself."""
    try:
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    except ValueError:
        return url
    return _title(name) or url


def _http_url(url: Any, base: str | None) -> str | None:
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or _CONTROL.search(url):
        return None
    try:
        parts = urlsplit(urljoin(base, url) if base else url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        _ = parts.port  # raises ValueError for an invalid port
    except ValueError:
        return None
    return urlunsplit(parts._replace(fragment=""))


def _title(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFC", _INVISIBLE.sub("", _CONTROL.sub(" ", value)))
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) > TITLE_CHARS:
        text = text[: TITLE_CHARS - 1].rstrip() + "…"
    return text or None


def _guess(url: str) -> str | None:
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    return mimetypes.guess_type(path, strict=False)[0]
