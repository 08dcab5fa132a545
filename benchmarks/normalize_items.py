"""Per-item cost of the process stage: ``normalize_item`` and ``render_attribution``.

Entries come from the same real feeds as ``parse_feeds.py`` (the 100 gzipped feeds of
``shared/corpus/feeds/real/fastfeedparser/benchmark_data`` and the GB2312/Big5 feeds of
``chinese-legacy-encodings``), turned into ``RawItem``s by ``parse_feed`` before any timing.

Timed per item (µs/item: median, p95, mean, and items/s = 1 / mean):

* ``normalize_item``: the whole call as ``pipeline.ingest`` makes it (sanitize, text, URLs, dates, hash).
* its parts, called alone on the same input: ``sanitize_html`` (and its halves: the lxml URL rewrite
  and the nh3 clean, each on the raw body),
  ``html_to_text`` of the sanitized body, ``parse_datetime`` of the published text, ``canonical_url``,
  ``content_hash``.
* ``render_attribution`` with the shipped ``zh`` and ``en`` templates, on the normalized item (what
  ``pipeline.published_items`` does for each item of a channel render and for each webhook payload),
  and, as a part of it, the ``html_to_text(body_html)`` it computes for ``body_text``.

Each item goes through every step once per round (default 3 rounds), interleaved item by item so
that the load of other processes hits every step alike; an item's time is its median over rounds.

Run: ``.venv/bin/python benchmarks/normalize_items.py [--rounds N]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from _common import header, load_chinese_feeds, load_real_feeds, median, percentile, table

from syndication.models import Item, Provenance, RawItem, SourceConfig
from syndication.parse.feed import parse_feed
from syndication.process import sanitize
from syndication.process.attribution import render_attribution
from syndication.process.normalize import canonical_url, content_hash, normalize_item, parse_datetime
from syndication.process.sanitize import html_to_text, sanitize_html

NOW = datetime(2026, 1, 1, tzinfo=UTC)
BASE = "https://example.org/feed.xml"


def raw_items() -> list[RawItem]:
    items: list[RawItem] = []
    for _, data in load_real_feeds() + load_chinese_feeds():
        try:
            items.extend(parse_feed(data, url=BASE).items)
        except Exception:
            continue
    return items


def provenance(item: Item, source: SourceConfig) -> Provenance:
    return Provenance(
        original_url=item.url,
        publisher=item.publisher or source.name,
        author=item.author,
        published_at=item.published_at,
        source_id=source.id,
        source_name=source.name,
    )


def _sanitize_parts(raws: list[RawItem]) -> list[tuple[str, Callable[[Any], object], list[Any]]]:
    """sanitize_html's two halves, when the module still has them (private names: skipped if gone)."""
    rewrite = getattr(sanitize, "_rewrite_urls", None)
    cleaner = getattr(sanitize, "_CLEANER", None)
    parts: list[tuple[str, Callable[[Any], object], list[Any]]] = []
    if rewrite is not None:
        parts.append(
            (
                "    URL rewrite (lxml + urljoin)",
                lambda r: rewrite(r.content_html or r.summary_html, r.url or BASE),
                raws,
            )
        )
    if cleaner is not None:
        parts.append(
            ("    nh3 Cleaner.clean", lambda r: cleaner.clean(r.content_html or r.summary_html), raws)
        )
    return parts


def timed(cases: list[tuple[str, Callable[[Any], object], list[Any]]], rounds: int) -> dict[str, list[float]]:
    """Each case's median over ``rounds`` per item, in µs. Interleaved item by item, case by case, so
    that a change in the machine's load during the run hits every case alike."""
    per = {label: [[] for _ in inputs] for label, _, inputs in cases}
    n = min(len(inputs) for _, _, inputs in cases)
    for _ in range(rounds):
        for i in range(n):
            for label, fn, inputs in cases:
                t0 = time.perf_counter()
                fn(inputs[i])
                per[label][i].append(time.perf_counter() - t0)
    return {label: [statistics.median(t) * 1e6 for t in times] for label, times in per.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    header("normalize_items")
    source = SourceConfig(id="bench", name="基准来源", kind="feed", url=BASE, timezone="Asia/Shanghai")
    raws = raw_items()
    items = [normalize_item(r, source, base_url=BASE, now=NOW) for r in raws]  # also a warm-up
    bodies = [len(r.content_html or r.summary_html) for r in raws]
    print(
        f"\n{len(raws)} entries; body HTML size median {median(bodies) / 1000:.1f} KB, "
        f"p95 {percentile(bodies, 95) / 1000:.1f} KB, max {max(bodies) / 1000:.0f} KB; {args.rounds} rounds"
    )
    zh = [(i, provenance(i, source)) for i in items]
    for i, p in zh[:5]:  # warm the template cache
        render_attribution(
            title=i.title, body_html=i.content_html, provenance=p, template="zh", disclaimer=None
        )
        render_attribution(
            title=i.title, body_html=i.content_html, provenance=p, template="en", disclaimer=None
        )

    cases: list[tuple[str, Callable[[Any], object], list[Any]]] = [
        ("normalize_item", lambda r: normalize_item(r, source, base_url=BASE, now=NOW), raws),
        (
            "  sanitize_html",
            lambda r: sanitize_html(r.content_html or r.summary_html, base_url=r.url or BASE),
            raws,
        ),
        *_sanitize_parts(raws),
        ("  html_to_text (sanitized body)", lambda i: html_to_text(i.content_html), items),
        ("  parse_datetime", lambda r: parse_datetime(r.published, tz="Asia/Shanghai"), raws),
        ("  canonical_url", lambda i: canonical_url(i.url), items),
        ("  content_hash", lambda i: content_hash(i.title, i.content_text), items),
        (
            "render_attribution zh",
            lambda ip: render_attribution(
                title=ip[0].title,
                body_html=ip[0].content_html,
                provenance=ip[1],
                template="zh",
                disclaimer=None,
            ),
            zh,
        ),
        (
            "render_attribution en",
            lambda ip: render_attribution(
                title=ip[0].title,
                body_html=ip[0].content_html,
                provenance=ip[1],
                template="en",
                disclaimer=None,
            ),
            zh,
        ),
        ("  html_to_text (body_text)", lambda ip: html_to_text(ip[0].content_html), zh),
    ]
    rows = []
    results = timed(cases, args.rounds)
    for label, _, _ in cases:
        us = results[label]
        mean = statistics.fmean(us)
        rows.append([label, median(us), percentile(us, 95), max(us), mean, 1e6 / mean])
    print(table(["step", "µs/item median", "p95", "max", "mean", "items/s (1/mean)"], rows))


if __name__ == "__main__":
    main()
