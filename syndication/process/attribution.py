"""Render an article as republished: attribution header, body, original link, disclaimer.

    render_attribution(title=..., body_html=..., provenance=..., template="zh", disclaimer=None)
        -> (html, text)

Templates are Jinja2 files named ``NAME.html.j2`` (and optionally ``NAME.txt.j2``). The operator's
template folders are searched first, then the shipped ``syndication/templates/`` (``zh``, ``en``), so
an operator can override a shipped template or add new ones. HTML templates are autoescaped; the body
is already sanitized and goes in with ``|safe``. The text comes from ``NAME.txt.j2`` when it sits in
the same folder as the ``NAME.html.j2`` used (so overriding only the HTML never pairs it with a stale
text template); otherwise it is derived from the HTML with ``sanitize.html_to_text``.

The output is not sanitized again: templates are the operator's trusted files, every variable is
autoescaped, the body was sanitized last in normalize, and ``original_url`` and the attachments' URLs
are only passed through when they are http(s) URLs (so no ``javascript:`` link can enter through them).

Template variables (every one is always defined, possibly None):

    title           str               the article title (the shipped templates do not print it: feed
                                      items and webhooks carry the title themselves)
    body_html       str               sanitized article HTML (insert with ``|safe``)
    body_text       str               plain text of the body
    original_url    str | None        the original article's http(s) URL
    publisher       str               来源: the entry's own publisher, else the source's name
    author          str | None        None when unknown (shipped templates print 佚名 / Anonymous)
    published       datetime | None   the original publish time, in ``tz``
    published_str   str | None        the same as ``YYYY-MM-DD HH:MM``
    source_id       str               the source it was fetched from
    source_name     str
    also_at         tuple[Sighting, ...]  every other place it was seen
    attachments     list[dict]        the article's files, in order, each {url, title, mime_type, length}:
                                      ``url`` is http(s) (others are left out), ``title`` is the link
                                      text, else the file name; an empty list when there are none
    unlinked_attachments  list[dict]  the same, less those the body already links to (an official page's
                                      own "附件：" line): what the shipped templates list after the body
    disclaimer      str               the disclaimer text ("" means none: templates omit the line)

Disclaimer: an explicit ``disclaimer`` argument wins (the channel's or the config's). With None, the
default for the template name is used: ``DEFAULT_DISCLAIMERS[template]`` when there is one, else the
English default for names starting with "en" and the Chinese default for every other name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, tzinfo
from functools import lru_cache
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

from syndication.errors import SyndicationError
from syndication.models import Attachment, Provenance
from syndication.process.attachments import file_name
from syndication.process.sanitize import html_to_text

__all__ = [
    "DEFAULT_DISCLAIMERS",
    "SHIPPED_TEMPLATE_DIR",
    "TemplateError",
    "TemplateNotFound",
    "available_templates",
    "render_attribution",
]

SHIPPED_TEMPLATE_DIR = str(Path(__file__).resolve().parent.parent / "templates")
HTML_SUFFIX = ".html.j2"
TEXT_SUFFIX = ".txt.j2"

DEFAULT_DISCLAIMERS: dict[str, str] = {
    "zh": (
        "本文来源于网络转载，仅供学习交流使用，不构成商业目的。版权归原作者所有，"
        "如涉及作品内容、版权和其它问题，请在30日内与本网联系，我们将在第一时间处理。"
    ),
    "en": (
        "This article is reprinted from the web for study and reference only, not for commercial "
        "purposes. Copyright belongs to the original author. For any concern about the content, "
        "copyright or other matters, please contact us within 30 days and we will deal with it "
        "promptly."
    ),
}

_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


class TemplateError(SyndicationError):
    """An attribution template could not be loaded or rendered (the template name is in the message)."""


class TemplateNotFound(TemplateError, LookupError):
    """No ``NAME.html.j2`` in the operator's template folders or the shipped ones."""


def available_templates(template_dirs: Sequence[str]) -> list[str]:
    """Names of every template usable by ``render_attribution``: shipped plus the operator's, sorted.

    A folder that does not exist contributes nothing (config validation reports it).
    """
    names: set[str] = set()
    for folder in (*template_dirs, SHIPPED_TEMPLATE_DIR):
        path = Path(folder)
        if path.is_dir():
            names.update(
                p.name.removesuffix(HTML_SUFFIX)
                for p in path.glob("*" + HTML_SUFFIX)
                if _TEMPLATE_NAME.fullmatch(p.name.removesuffix(HTML_SUFFIX))
            )
    return sorted(names)


def default_disclaimer(template: str) -> str:
    if template in DEFAULT_DISCLAIMERS:
        return DEFAULT_DISCLAIMERS[template]
    return DEFAULT_DISCLAIMERS["en" if template.lower().startswith("en") else "zh"]


@lru_cache(maxsize=32)
def _environment(template_dirs: tuple[str, ...]) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([*template_dirs, SHIPPED_TEMPLATE_DIR]),
        autoescape=lambda name: not (name or "").endswith(TEXT_SUFFIX),
        undefined=jinja2.StrictUndefined,  # a misspelt variable in an operator's template is an error
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _load(env: jinja2.Environment, template: str) -> tuple[jinja2.Template, jinja2.Template | None]:
    if not _TEMPLATE_NAME.fullmatch(template):
        raise TemplateNotFound(f"invalid attribution template name {template!r}")
    try:
        html_template = env.get_template(template + HTML_SUFFIX)
    except jinja2.TemplateNotFound:
        dirs = env.loader.searchpath if isinstance(env.loader, jinja2.FileSystemLoader) else []
        known = ", ".join(available_templates(dirs[:-1])) or "none"
        raise TemplateNotFound(
            f"attribution template {template!r} not found: no {template}{HTML_SUFFIX} in "
            f"{', '.join(dirs)} (available: {known})"
        ) from None
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"attribution template {template!r}: {e.filename}:{e.lineno}: {e.message}") from e
    try:
        text_template = env.get_template(template + TEXT_SUFFIX)
    except jinja2.TemplateNotFound:
        return html_template, None
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"attribution template {template!r}: {e.filename}:{e.lineno}: {e.message}") from e
    same_folder = (
        html_template.filename is not None
        and text_template.filename is not None
        and Path(html_template.filename).parent == Path(text_template.filename).parent
    )
    return html_template, text_template if same_folder else None


def _zone(tz: str) -> tzinfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {tz!r} (expected an IANA name such as 'Asia/Shanghai')") from e


def _safe_link(url: str | None) -> str | None:
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def render_attribution(
    *,
    title: str,
    body_html: str,
    provenance: Provenance,
    template: str,
    disclaimer: str | None,
    template_dirs: Sequence[str] = (),
    tz: str = "Asia/Shanghai",
    body_text: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> tuple[str, str]:
    """(html, text) of the article as republished with ``template``; see the module docstring.

    ``body_html`` must already be sanitized; ``body_text`` is its plain text when the caller has it
    (the article's stored ``content_text``), else it is derived here. The publish time is shown in ``tz`` (Beijing time by
    default); a naive ``provenance.published_at`` is taken as UTC. Raises TemplateNotFound for an
    unknown template, TemplateError when an operator's template fails to load or render, and
    ValueError for an unknown ``tz``.
    """
    env = _environment(tuple(template_dirs))
    html_template, text_template = _load(env, template)
    published = provenance.published_at
    if published is not None:
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
        published = published.astimezone(_zone(tz))
    files = _attachments(attachments)
    linked = _hrefs(body_html)
    context: dict[str, Any] = {
        "title": title,
        "body_html": body_html,
        "body_text": html_to_text(body_html) if body_text is None else body_text,
        "original_url": _safe_link(provenance.original_url),
        "publisher": provenance.publisher,
        "author": provenance.author or None,
        "published": published,
        "published_str": published.strftime("%Y-%m-%d %H:%M") if published else None,
        "source_id": provenance.source_id,
        "source_name": provenance.source_name,
        "also_at": provenance.also_at,
        "attachments": files,
        "unlinked_attachments": [a for a in files if unquote(a["url"]) not in linked],
        "disclaimer": default_disclaimer(template) if disclaimer is None else disclaimer,
    }
    try:
        html = html_template.render(context).strip() + "\n"
        text = _tidy_text(text_template.render(context)) if text_template else html_to_text(html)
    except jinja2.TemplateError as e:
        raise TemplateError(f"attribution template {template!r} failed to render: {e}") from e
    return html, text


def _hrefs(body_html: str) -> set[str]:
    """Every link of the body, unescaped and percent-decoded (名单.pdf = %E5%90%8D%E5%8D%95.pdf)."""
    return {unquote(unescape(h)) for h in re.findall(r'href="([^"]+)"', body_html)}


def _attachments(attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
    out = []
    for a in attachments:
        url = _safe_link(a.url)
        if url:
            title = (a.title or "").strip() or file_name(url)
            out.append({"url": url, "title": title, "mime_type": a.mime_type, "length": a.length})
    return out


def _tidy_text(text: str) -> str:
    """Strip trailing spaces and keep at most one blank line between blocks."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out)
