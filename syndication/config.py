"""Load and validate the operator's TOML file (sources, channels, webhooks).

Every problem is collected, not only the first, each with where it is (file, table, key), so that
``syndication check`` can print them all at once. :func:`load_config` raises :class:`ConfigError`
carrying the list; every command refuses an invalid file the same way.
"""

from __future__ import annotations

import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from syndication.errors import ConfigError, Problem
from syndication.models import ChannelConfig, Config, Provenance, SourceConfig, WebhookConfig

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
MIN_INTERVAL = timedelta(seconds=10)
SOURCE_KINDS = ("feed", "page")

SOURCE_KEYS = {
    "id",
    "name",
    "kind",
    "url",
    "interval",
    "priority",
    "timezone",
    "rate",
    "robots",
    "min_interval",
    "max_interval",
}
PAGE_KEYS = {"links", "pages", "backfill", "selectors", "allow_hosts"}
SELECTOR_FIELDS = {"title", "body", "published", "source", "author"}
CHANNEL_KEYS = {"id", "title", "description", "sources", "template", "limit", "disclaimer"}
WEBHOOK_KEYS = {"id", "url", "channels", "secret", "secret_env"}
TOP_KEYS = {"sources", "channels", "webhooks", "attribution"}
ATTRIBUTION_KEYS = {"templates", "disclaimers"}


def parse_duration(value: object) -> timedelta:
    """``"15m"``, ``"1h"``, ``"90s"``, ``"1d"``, ``"30"`` (seconds) or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError('a duration such as "15m" is expected')
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        m = DURATION_RE.match(value)
        if m:
            return timedelta(seconds=float(m.group(1)) * DURATION_UNITS[m.group(2)])
    raise ValueError(f'{value!r} is not a duration (use e.g. "90s", "15m", "2h", "1d")')


class _Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, where: str, key: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, where, key, message))

    def unknown_keys(self, where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
        for key in sorted(set(table) - allowed):
            self.add(where, key, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def string(self, where: str, table: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
        if key not in table:
            if required:
                self.add(where, key, "is required")
            return None
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.add(where, key, "must be a non-empty string")
            return None
        return value.strip()

    def ident(self, where: str, table: Mapping[str, Any], seen: set[str]) -> str | None:
        value = self.string(where, table, "id")
        if value is None:
            return None
        if not ID_RE.match(value):
            self.add(where, "id", f"{value!r} must be letters, digits and '-' (at most 64)")
            return None
        if value in seen:
            self.add(where, "id", f"duplicate id {value!r}")
            return None
        seen.add(value)
        return value

    def url(self, where: str, table: Mapping[str, Any], key: str = "url") -> str | None:
        value = self.string(where, table, key)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.add(where, key, f"{value!r} must be an absolute http(s) URL")
            return None
        return value

    def id_list(
        self, where: str, table: Mapping[str, Any], key: str, known: set[str], *, star: bool
    ) -> tuple[str, ...]:
        value = table.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.add(where, key, "must be a non-empty list of ids" + (' (or ["*"])' if star else ""))
            return ()
        for v in value:
            if v == "*" and star:
                continue
            if v not in known:
                self.add(
                    where, key, f"{v!r} is not a defined id (known: {', '.join(sorted(known)) or 'none'})"
                )
        return tuple(value)


def _where(table: str, index: int, item: Any) -> str:
    ident = item.get("id") if isinstance(item, dict) else None
    return f"{table}[{index}]" + (f" (id {ident!r})" if isinstance(ident, str) else "")


def _tables(c: _Collector, data: Mapping[str, Any], name: str) -> list[tuple[str, dict[str, Any]]]:
    raw = data.get(name, [])
    if not isinstance(raw, list):
        c.add(name, None, f"must be an array of tables ([[{name}]])")
        return []
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            c.add(f"{name}[{i}]", None, "must be a table")
            continue
        out.append((_where(name, i, item), item))
    return out


def _source(c: _Collector, where: str, t: dict[str, Any], seen: set[str]) -> SourceConfig | None:
    kind = t.get("kind", "feed") if isinstance(t.get("kind", "feed"), str) else "feed"
    c.unknown_keys(where, t, SOURCE_KEYS | (PAGE_KEYS if kind == "page" else set()))
    sid = c.ident(where, t, seen)
    name = c.string(where, t, "name")
    kind = c.string(where, t, "kind", required=False) or "feed"
    if kind not in SOURCE_KINDS:
        c.add(where, "kind", f"{kind!r} is not supported (supported: {', '.join(SOURCE_KINDS)})")
    url = c.url(where, t)
    interval = timedelta(minutes=15)
    if "interval" in t:
        try:
            interval = parse_duration(t["interval"])
        except ValueError as e:
            c.add(where, "interval", str(e))
        else:
            if interval < MIN_INTERVAL:
                c.add(where, "interval", f"must be at least {int(MIN_INTERVAL.total_seconds())}s")
    priority = t.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        c.add(where, "priority", "must be an integer")
        priority = 0
    tz = t.get("timezone", "UTC")
    try:
        if not isinstance(tz, str):
            raise ValueError
        zoneinfo.ZoneInfo(tz)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        c.add(where, "timezone", f'{tz!r} is not an IANA time zone (e.g. "Asia/Shanghai")')
        tz = "UTC"
    page = _page_options(c, where, t) if kind == "page" else {}
    bounds: dict[str, Any] = {}
    for key in ("min_interval", "max_interval"):
        if key in t:
            try:
                bounds[key] = parse_duration(t[key])
            except ValueError as e:
                c.add(where, key, str(e))
            else:
                if bounds[key] < MIN_INTERVAL:
                    c.add(where, key, f"must be at least {int(MIN_INTERVAL.total_seconds())}s")
    if bounds.get("min_interval", interval) > bounds.get("max_interval", interval):
        c.add(where, "min_interval", "must not be above max_interval (or interval)")
    rate = t.get("rate")
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 100
    ):
        c.add(where, "rate", "must be a number of requests per second, above 0 and at most 100")
        rate = None
    robots = t.get("robots", True)
    if not isinstance(robots, bool):
        c.add(where, "robots", "must be true or false")
        robots = True
    if sid is None or name is None or url is None:
        return None
    return SourceConfig(
        id=sid,
        name=name,
        kind=kind,
        url=url,
        interval=interval,
        priority=priority,
        timezone=tz,
        rate=float(rate) if rate is not None else None,
        robots=robots,
        **bounds,
        **page,
    )


def _page_options(c: _Collector, where: str, t: dict[str, Any]) -> dict[str, Any]:
    from syndication.parse.govmeta import css_xpath
    from syndication.parse.listpage import validate_selector

    out: dict[str, Any] = {}
    links = c.string(where, t, "links", required=False)
    if links is not None:
        try:
            validate_selector(links)
            out["links"] = links
        except ValueError as e:
            c.add(where, "links", str(e))
    for key, low, high, default in (("pages", 1, 50, 1), ("backfill", 1, 1000, 200)):
        value = t.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            c.add(where, key, f"must be an integer from {low} to {high}")
        else:
            out[key] = value
    selectors = t.get("selectors", {})
    if not isinstance(selectors, dict):
        c.add(where, "selectors", 'must be a table of field = "CSS selector"')
        selectors = {}
    pairs = []
    for field, css in selectors.items():
        if field not in SELECTOR_FIELDS:
            c.add(
                where, f"selectors.{field}", f"unknown field (allowed: {', '.join(sorted(SELECTOR_FIELDS))})"
            )
        elif not isinstance(css, str) or not css.strip():
            c.add(where, f"selectors.{field}", "must be a CSS selector")
        else:
            try:
                css_xpath(css)
                pairs.append((field, css))
            except Exception as e:
                c.add(where, f"selectors.{field}", str(e))
    out["selectors"] = tuple(pairs)
    hosts = t.get("allow_hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
        c.add(where, "allow_hosts", "must be a list of host names")
    else:
        out["allow_hosts"] = tuple(hosts)
    return out


def try_template(template: str, template_dirs: Sequence[str]) -> str | None:
    """Render ``template`` once on a sample article; the error text, or None when it renders."""
    from syndication.process.attribution import render_attribution

    sample = Provenance(
        original_url="https://www.example.gov.cn/2023/12/t20231201_1.shtml",
        publisher="示例来源",
        author=None,
        published_at=datetime(2023, 12, 1, tzinfo=UTC),
        source_id="sample",
        source_name="示例来源",
    )
    try:
        render_attribution(
            title="示例",
            body_html="<p>示例正文</p>",
            provenance=sample,
            template=template,
            disclaimer=None,
            template_dirs=template_dirs,
        )
    except Exception as e:  # any failure of an operator's template is a config problem
        return f"template {template!r} fails to render: {type(e).__name__}: {e}"
    return None


def _channel(
    c: _Collector,
    where: str,
    t: dict[str, Any],
    seen: set[str],
    source_ids: set[str],
    templates: set[str],
    template_dirs: Sequence[str] = (),
) -> ChannelConfig | None:
    c.unknown_keys(where, t, CHANNEL_KEYS)
    cid = c.ident(where, t, seen)
    title = c.string(where, t, "title")
    description = c.string(where, t, "description", required=False) or ""
    sources = c.id_list(where, t, "sources", source_ids, star=True)
    template = c.string(where, t, "template", required=False) or "zh"
    if template not in templates:
        c.add(where, "template", f"no template {template!r} (available: {', '.join(sorted(templates))})")
    elif (error := try_template(template, template_dirs)) is not None:
        c.add(where, "template", error)
    limit = t.get("limit", 50)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
        c.add(where, "limit", "must be an integer from 1 to 1000")
        limit = 50
    disclaimer = c.string(where, t, "disclaimer", required=False)
    if cid is None or title is None or not sources:
        return None
    return ChannelConfig(
        id=cid,
        title=title,
        description=description,
        sources=sources,
        template=template,
        limit=limit,
        disclaimer=disclaimer,
    )


def _webhook(
    c: _Collector,
    where: str,
    t: dict[str, Any],
    seen: set[str],
    channel_ids: set[str],
    environ: Mapping[str, str],
    check_secret: Callable[[str], object],
) -> WebhookConfig | None:
    c.unknown_keys(where, t, WEBHOOK_KEYS)
    wid = c.ident(where, t, seen)
    url = c.url(where, t)
    channels = c.id_list(where, t, "channels", channel_ids, star=False)
    secret: str | None = None
    if ("secret" in t) == ("secret_env" in t):
        c.add(where, "secret", "give exactly one of secret or secret_env")
    elif "secret" in t:
        secret = c.string(where, t, "secret")
    else:
        name = c.string(where, t, "secret_env")
        if name is not None:
            secret = environ.get(name)
            if not secret:
                c.add(where, "secret_env", f"environment variable {name} is not set")
    if secret is not None:
        try:
            check_secret(secret)
        except ValueError as e:
            c.add(where, "secret" if "secret" in t else "secret_env", str(e))
            secret = None
    if wid is None or url is None or not channels or secret is None:
        return None
    return WebhookConfig(id=wid, url=url, channels=channels, secret=secret)


def _declared_ids(data: Mapping[str, Any], table: str, path: str) -> set[str]:
    """Ids declared in ``table`` even by an entry with other problems (so references to it are not
    reported twice)."""
    return {t["id"] for _, t in _tables(_Collector(path), data, table) if isinstance(t.get("id"), str)}


def parse_config(data: Mapping[str, Any], *, path: str, environ: Mapping[str, str] | None = None) -> Config:
    """Validate an already-decoded TOML document. Raises ConfigError with every problem found."""
    from syndication.process.attribution import available_templates
    from syndication.publish.webhooks import secret_key

    environ = os.environ if environ is None else environ
    c = _Collector(path)
    c.unknown_keys("(top level)", data, TOP_KEYS)
    base = Path(path).resolve().parent

    template_dirs: list[str] = []
    disclaimers: dict[str, str] = {}
    attribution = data.get("attribution", {})
    if not isinstance(attribution, dict):
        c.add("attribution", None, "must be a table")
        attribution = {}
    c.unknown_keys("attribution", attribution, ATTRIBUTION_KEYS)
    tdir = attribution.get("templates")
    if tdir is not None:
        if not isinstance(tdir, str) or not (base / tdir).is_dir():
            c.add("attribution", "templates", f"{tdir!r} is not a folder (relative to {base})")
        else:
            template_dirs.append(str((base / tdir).resolve()))
    elif (base / "templates").is_dir():
        template_dirs.append(str((base / "templates").resolve()))
    raw_disclaimers = attribution.get("disclaimers", {})
    if not isinstance(raw_disclaimers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in raw_disclaimers.items()
    ):
        c.add("attribution", "disclaimers", 'must be a table of template name = "text"')
    else:
        disclaimers = {k: v.strip() for k, v in raw_disclaimers.items()}
    templates = set(available_templates(template_dirs))

    seen: set[str] = set()
    sources = [s for w, t in _tables(c, data, "sources") if (s := _source(c, w, t, seen))]
    source_ids = {s.id for s in sources} | _declared_ids(data, "sources", path)
    seen = set()
    channels = [
        ch
        for w, t in _tables(c, data, "channels")
        if (ch := _channel(c, w, t, seen, source_ids, templates, template_dirs))
    ]
    channel_ids = {ch.id for ch in channels} | _declared_ids(data, "channels", path)
    seen = set()
    webhooks = [
        h
        for w, t in _tables(c, data, "webhooks")
        if (h := _webhook(c, w, t, seen, channel_ids, environ, secret_key))
    ]
    if c.problems:
        raise ConfigError(c.problems)
    return Config(
        path=path,
        sources=tuple(sources),
        channels=tuple(channels),
        webhooks=tuple(webhooks),
        disclaimers=disclaimers,
        template_dirs=tuple(template_dirs),
    )


def load_config(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> Config:
    p = Path(path)
    name = str(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError([Problem(name, "(file)", None, "not found")]) from None
    except OSError as e:
        raise ConfigError([Problem(name, "(file)", None, f"cannot read: {e.strerror}")]) from e
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(
            [Problem(name, "(file)", None, f"not UTF-8 text ({e.reason} at byte {e.start})")]
        ) from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([Problem(name, "(syntax)", None, f"invalid TOML: {e}")]) from e
    return parse_config(data, path=name, environ=environ)
