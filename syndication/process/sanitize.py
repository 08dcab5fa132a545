"""Make untrusted article HTML safe to republish, and turn HTML into readable plain text.

    sanitize_html(html, base_url=...)   rewrite URLs (lxml)  →  sanitize (nh3, always the last step)
    html_to_text(html)                  paragraphs separated by a blank line, whitespace collapsed

Order matters (DESIGN.md invariant 5): every rewrite happens first, on a parsed tree, and nh3 then
sanitizes the serialized result, so nothing a rewrite produces escapes the sanitizer.

Rewrites, before sanitizing:
- ``href``, ``src``, ``srcset`` and ``poster`` are resolved against ``base_url``.
- Protocol-relative URLs (``//host/x``) always become ``https://host/x``, whatever the scheme of
  ``base_url``: the republished copy is served over https by the downstream site, where an ``http:``
  image is mixed content, and the official sites we read serve their assets over https too.
- Lazy-loaded images (``<img data-src=...>``, ``data-original``, ...) get their real ``src`` when the
  ``src`` is missing or a ``data:`` placeholder.

Sanitizing (nh3/ammonia):
- Allowed: the usual article tags (paragraphs, headings, lists, tables, figures, quotes, code,
  inline emphasis, images, ``video``/``audio``/``source``). Other tags are unwrapped (text kept);
  ``script``, ``style``, ``iframe``, ``object``, ``embed``, ``noscript``, form controls and the like are
  removed with their content. Forms themselves are unwrapped (some CMSs wrap the whole body in one).
- Only a short list of presentational attributes survives; no ``style``, ``class``, ``id`` or ``on*``.
- URLs: only ``http``, ``https`` and ``mailto``. Relative URLs that could not be resolved (no
  ``base_url``) are removed, since they would point into the downstream site. ``srcset`` candidates that
  are not absolute http(s) URLs are dropped (ammonia does not check ``srcset`` itself).
- Links get ``rel="noopener noreferrer nofollow"``.
"""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import urljoin, urlsplit

import lxml.html
import nh3
from lxml import etree

__all__ = ["html_to_text", "sanitize_html"]

_ALLOWED_TAGS = {
    "p", "br", "hr", "div", "span", "a", "img", "figure", "figcaption",
    "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd",
    "table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "th", "td",
    "blockquote", "pre", "code", "em", "strong", "b", "i", "u", "s", "del", "ins", "small",
    "sub", "sup", "video", "audio", "source",
}  # fmt: skip
# Removed together with everything inside them. Must be disjoint from _ALLOWED_TAGS.
_REMOVED_WITH_CONTENT = {
    "script", "style", "iframe", "frame", "frameset", "noframes", "object", "embed", "applet",
    "noscript", "noembed", "template", "textarea", "select", "button", "svg", "math", "head", "title",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "srcset", "alt", "title", "width", "height"},
    "table": {"border"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign", "scope"},
    "tr": {"align", "valign"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "video": {"src", "poster", "controls", "width", "height"},
    "audio": {"src", "controls"},
    "source": {"src", "srcset", "type"},
}
_URL_SCHEMES = {"http", "https", "mailto"}
_LINK_REL = "noopener noreferrer nofollow"
_URL_ATTRIBUTES = ("href", "src", "poster")
_LAZY_SRC_ATTRIBUTES = ("data-src", "data-original", "data-actualsrc", "data-lazy-src", "data-echo")
# Cheap pre-check: without any of these there is nothing for the lxml pass to rewrite.
_NEEDS_REWRITE = re.compile(r"(?i)\b(?:href|src|srcset|poster|data-[a-z-]+)\s*=")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_WHITESPACE = re.compile(r"\s+")  # str patterns: includes U+3000 and U+00A0


def _srcset_filter(tag: str, attribute: str, value: str) -> str | None:
    """nh3 attribute filter: keep only absolute http(s) candidates of a ``srcset``."""
    if attribute != "srcset":
        return value
    kept = []
    for candidate in value.split(","):
        parts = candidate.split()
        try:
            if parts and urlsplit(parts[0]).scheme in ("http", "https"):
                kept.append(" ".join(parts))
        except ValueError:  # e.g. an invalid IPv6 literal: drop the candidate
            continue
    return ", ".join(kept) or None


_CLEANER = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags=_REMOVED_WITH_CONTENT,
    attributes=_ALLOWED_ATTRIBUTES,
    attribute_filter=_srcset_filter,
    link_rel=_LINK_REL,
    url_schemes=_URL_SCHEMES,
    url_relative="deny",
    strip_comments=True,
)


def sanitize_html(html: str, *, base_url: str | None) -> str:
    """Resolve the URLs in ``html`` against ``base_url``, then sanitize it (see the module docstring)."""
    if not html or not html.strip():
        return ""
    html = _CONTROL_CHARS.sub("", html)
    if _NEEDS_REWRITE.search(html):
        html = _rewrite_urls(html, base_url)
    return _CLEANER.clean(html).strip()  # sanitizing is the last step


def _resolve(url: str, base_url: str | None) -> str:
    url = _CONTROL_CHARS.sub("", url).strip()  # entities such as &#8; decode to control characters
    if url.startswith("//"):
        return "https:" + url
    if not base_url:
        return url
    try:
        return urljoin(base_url, url)
    except ValueError:  # e.g. an invalid IPv6 literal; the sanitizer drops what stays relative
        return url


def _resolve_srcset(value: str, base_url: str | None) -> str:
    candidates = []
    for candidate in value.split(","):
        parts = candidate.split()
        if parts:
            candidates.append(" ".join([_resolve(parts[0], base_url), *parts[1:]]))
    return ", ".join(candidates)


def _parse_fragment(html: str) -> lxml.html.HtmlElement | None:
    """``html`` as children of a ``div``; None when libxml2 cannot read all of it (e.g. nesting deeper
    than 2048 levels, where it silently drops content)."""
    parser = lxml.html.HTMLParser(huge_tree=True)
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div", parser=parser)
    except (etree.ParserError, ValueError):
        return None
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        return None
    return root


def _rewrite_urls(html: str, base_url: str | None) -> str:
    root = _parse_fragment(html)
    if root is None:
        return html  # not rewritten: the sanitizer still runs and drops what stays relative
    try:
        _rewrite_tree(root, base_url)
    except ValueError:  # lxml refused a value; never lose the article over a URL
        return html
    inner = [htmllib.escape(root.text or "", quote=False)]
    inner.extend(lxml.html.tostring(child, encoding="unicode") for child in root)
    return "".join(inner)


def _rewrite_tree(root: lxml.html.HtmlElement, base_url: str | None) -> None:
    for el in root.iter(etree.Element):
        if el.tag == "img":
            src = (el.get("src") or "").strip()
            if not src or src.startswith("data:"):
                lazy = next((el.get(a) for a in _LAZY_SRC_ATTRIBUTES if el.get(a)), None)
                if lazy:
                    el.set("src", _CONTROL_CHARS.sub("", lazy))
        for attribute in _URL_ATTRIBUTES:
            value = el.get(attribute)
            if value is not None:
                el.set(attribute, _resolve(value, base_url))
        srcset = el.get("srcset")
        if srcset is not None:
            el.set("srcset", _resolve_srcset(srcset, base_url))


# --- plain text -----------------------------------------------------------------------------------

_PARAGRAPH_TAGS = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "blockquote", "pre",
    "figure", "section", "article", "header", "footer", "aside", "nav", "main", "address", "hr",
    "form", "fieldset", "details", "center",
}  # fmt: skip
_LINE_TAGS = {"br", "li", "tr", "dt", "dd", "figcaption", "caption", "summary"}
_CELL_TAGS = {"td", "th"}
_SKIPPED_TAGS = _REMOVED_WITH_CONTENT
_LINE, _PARAGRAPH = "\n", "\n\n"


def html_to_text(html: str) -> str:
    """Readable plain text of ``html``.

    Block elements (``p``, ``div``, headings, lists, tables, ...) start and end a paragraph, shown as
    one blank line; ``br``, ``li``, ``tr`` and captions end a line. Inside a line every run of
    whitespace (including U+3000 and no-break spaces) becomes one space, and each line is stripped, so
    Chinese first-line indentation (``　　``) goes. Entities are decoded; script, style and similar
    content is dropped; zero-width characters are removed. ``pre`` keeps its line breaks.
    """
    if not html or not html.strip():
        return ""
    html = _CONTROL_CHARS.sub("", html)
    root = _parse_fragment(html)
    if root is None:  # pathological input: a crude but lossless-enough reading
        html = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", html)
        return _lines_to_text(htmllib.unescape(re.sub(r"<[^>]*>", " ", html)))
    etree.strip_tags(root, etree.Comment, etree.ProcessingInstruction)  # keeps their tails
    parts: list[str] = []
    skipping = 0  # depth inside _SKIPPED_TAGS
    in_pre = 0
    line_open = False  # text was added since the last break

    def add_text(text: str | None) -> None:
        nonlocal line_open
        if text:
            parts.append(text if in_pre else _WHITESPACE.sub(" ", text))
            line_open = line_open or not text.isspace()

    def add_break(mark: str, *, hard: bool = False) -> None:
        # A soft line break (end of li, tr, ...) is only needed when a line is open; <br> always counts,
        # so "a<br><br>b" is two paragraphs. Extra paragraph breaks collapse in _lines_to_text.
        nonlocal line_open
        if hard or line_open or mark == _PARAGRAPH:
            parts.append(mark)
            line_open = False

    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _SKIPPED_TAGS:
                skipping += 1
            if skipping:
                continue
            if tag in _PARAGRAPH_TAGS:
                add_break(_PARAGRAPH)
            elif tag in _LINE_TAGS:
                add_break(_LINE, hard=tag == "br")
            if tag == "pre":
                in_pre += 1
            add_text(el.text)
        else:
            if tag in _SKIPPED_TAGS:
                skipping -= 1
            elif not skipping:
                if tag == "pre":
                    in_pre -= 1
                if tag in _PARAGRAPH_TAGS:
                    add_break(_PARAGRAPH)
                elif tag in _LINE_TAGS and tag != "br":
                    add_break(_LINE)
                elif tag in _CELL_TAGS:
                    parts.append(" ")
            if not skipping and el is not root:
                add_text(el.tail)
    return _lines_to_text("".join(parts))


def _lines_to_text(text: str) -> str:
    """Collapse whitespace inside lines, strip lines, keep at most one blank line between paragraphs."""
    out: list[str] = []
    for raw_line in _ZERO_WIDTH.sub("", text).split("\n"):
        line = _WHITESPACE.sub(" ", raw_line).strip()
        if line:
            out.append(line)
        elif out and out[-1]:
            out.append("")
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)
