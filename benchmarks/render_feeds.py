"""Channel rendering: ``render_rss`` / ``render_atom`` for 50 items, against bare feedgen.

Two sets of 50 ``PublishedItem``s, built before any timing:

* ``real``: the first 50 entries (with a body of at least 200 characters) of the GB2312/Big5 feeds in
  ``shared/corpus/feeds/chinese-legacy-encodings``, parsed, normalized and attributed with the
  shipped ``zh`` template exactly as the pipeline does;
* ``synthetic``: 50 Chinese articles of ~3,000 characters each (the article size the design uses),
  attributed the same way, each with two ``also_at`` sightings.

Rows: our ``render_rss`` and ``render_atom`` (feedgen + dc + the ``syn:provenance`` extension, XML-char
stripping, sorting), and the peer: a bare ``feedgen`` ``FeedGenerator`` given the same 50 entries
(title, link, guid/id, attributed HTML as description/content, published, author, categories), no
extensions. Also, for the context of a channel render in ``pipeline.render``: the cost of
``render_attribution`` for the 50 items, which ``published_items`` runs before rendering.

Figures: ms per render of all 50 items (median and p95 over ``--repeat`` renders, default 50; the
rows take turns, so a change in the machine's load hits all alike) and the output size.

Run: ``.venv/bin/python benchmarks/render_feeds.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from _common import header, load_chinese_feeds, median, missing, peer, percentile, table

from syndication.models import ChannelConfig, Item, Provenance, PublishedItem, RawItem, Sighting, SourceConfig
from syndication.parse.feed import parse_feed
from syndication.process.attribution import render_attribution
from syndication.process.normalize import normalize_item
from syndication.publish.feeds import render_atom, render_rss

N = 50
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SOURCE = SourceConfig(id="bench", name="基准来源", kind="feed", url="https://example.org/feed.xml")
CHANNEL = ChannelConfig(
    id="news", title="政务要闻", sources=("*",), description="基准频道", template="zh", limit=N
)
SITE, FEED = "http://127.0.0.1:8080/", "http://127.0.0.1:8080/feeds/news.rss"
PARAGRAPH = (
    "近日，国务院常务会议研究部署进一步优化营商环境的有关举措，会议指出，要坚持稳中求进工作总基调，"
    "完整、准确、全面贯彻新发展理念，加快构建新发展格局，着力推动高质量发展。"
)


def published(item: Item, article_id: int, also_at: tuple[Sighting, ...] = ()) -> PublishedItem:
    when = item.published_at or NOW - timedelta(hours=article_id)
    prov = Provenance(
        original_url=item.url,
        publisher=item.publisher or SOURCE.name,
        author=item.author,
        published_at=item.published_at,
        source_id=SOURCE.id,
        source_name=SOURCE.name,
        also_at=also_at,
    )
    html, text = render_attribution(
        title=item.title, body_html=item.content_html, provenance=prov, template="zh", disclaimer=None
    )
    return PublishedItem(
        article_id=article_id,
        guid=f"urn:syndication:article:{article_id}",
        title=item.title,
        link=item.url,
        content_html=item.content_html,
        content_text=item.content_text,
        summary=item.summary,
        categories=item.categories,
        published_at=when,
        updated_at=when,
        provenance=prov,
        attribution_html=html,
        attribution_text=text,
        template="zh",
    )


def real_items() -> list[Item]:
    items: list[Item] = []
    for _, data in load_chinese_feeds():
        try:
            raws = parse_feed(data, url=SOURCE.url).items
        except Exception:
            continue
        for raw in raws:
            item = normalize_item(raw, SOURCE, base_url=SOURCE.url, now=NOW)
            if len(item.content_text) >= 200:
                items.append(item)
            if len(items) == N:
                return items
    return items


def synthetic_items() -> list[Item]:
    raws = []
    for i in range(N):
        body = "".join(f"<p>{PARAGRAPH}（第{i}篇第{k}段）</p>" for k in range(40))
        raws.append(
            RawItem(
                guid=f"g{i}",
                url=f"https://www.gov.cn/zhengce/2026-01/{i:02d}/content_{7000 + i}.htm",
                title=f"国务院常务会议部署优化营商环境举措 第{i}篇",
                content_html=body,
                author="新华社记者",
                publisher="新华社",
                published=f"2025-12-{1 + i % 28:02d} 08:30:00",
                categories=("政策", "国务院"),
            )
        )
    return [normalize_item(r, SOURCE, base_url=SOURCE.url, now=NOW) for r in raws]


def sightings(i: int) -> tuple[Sighting, ...]:
    return (
        Sighting("people", "人民网", f"http://politics.people.com.cn/n1/{i}.html", NOW - timedelta(hours=1)),
        Sighting("xinhua", "新华网", f"http://www.news.cn/{i}.htm", NOW - timedelta(hours=2)),
    )


def bare_feedgen(fmt: str) -> Callable[[list[PublishedItem]], bytes] | str:
    feed = peer("feedgen.feed")
    if feed is None:
        return missing("feedgen")

    def render(items: list[PublishedItem]) -> bytes:
        fg = feed.FeedGenerator()
        fg.id(FEED)
        fg.title(CHANNEL.title)
        fg.description(CHANNEL.description)
        fg.link(href=SITE, rel="alternate")
        fg.updated(NOW)
        for item in items:
            fe = fg.add_entry(order="append")
            fe.id(item.guid)
            fe.guid(item.guid, permalink=False)
            fe.title(item.title)
            if item.link:
                fe.link(href=item.link)
            if fmt == "rss":
                fe.description(item.attribution_html)
            else:
                fe.content(item.attribution_html, type="html")
                fe.updated(item.updated_at)
            fe.published(item.published_at)
            fe.author(name=item.provenance.author or "佚名", email="noreply@example.org")
            for c in item.categories:
                fe.category(term=c)
        return bytes(fg.rss_str() if fmt == "rss" else fg.atom_str())

    return render


def bench(cases: list[tuple[str, Callable[[], object]]], repeat: int) -> dict[str, tuple[float, float, int]]:
    """(median ms, p95 ms, output bytes) per case; the cases take turns, so load changes hit all alike."""
    sizes = {}
    for name, fn in cases:
        out = fn()  # warm-up
        sizes[name] = len(out) if isinstance(out, bytes) else 0
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(repeat):
        for name, fn in cases:
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1000)
    return {name: (median(t), percentile(t, 95), sizes[name]) for name, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    header("render_feeds")
    for label, items in (("real", real_items()), ("synthetic", synthetic_items())):
        also = label == "synthetic"
        pub = [published(it, i + 1, sightings(i) if also else ()) for i, it in enumerate(items)]
        text_kb = sum(len(p.attribution_html.encode()) for p in pub) / 1000
        print(
            f"\n## {label}: {len(pub)} items, attributed HTML {text_kb:.0f} KB in all, {args.repeat} renders"
        )
        rows = []

        def attribute(pub: list[PublishedItem] = pub) -> None:
            for p in pub:
                render_attribution(
                    title=p.title,
                    body_html=p.content_html,
                    provenance=p.provenance,
                    template="zh",
                    disclaimer=None,
                )

        cases: list[tuple[str, Callable[[], object] | str]] = [
            (
                "render_rss",
                lambda pub=pub: render_rss(CHANNEL, pub, site_url=SITE, feed_url=FEED, updated=NOW),
            ),
            (
                "render_atom",
                lambda pub=pub: render_atom(CHANNEL, pub, site_url=SITE, feed_url=FEED, updated=NOW),
            ),
        ]
        for fmt in ("rss", "atom"):
            peer_render = bare_feedgen(fmt)
            if isinstance(peer_render, str):
                cases.append((f"bare feedgen {fmt}", peer_render))
            else:
                cases.append((f"bare feedgen {fmt} (peer)", lambda r=peer_render, pub=pub: r(pub)))
        cases.append(("render_attribution ×50 (published_items)", attribute))
        results = bench([(name, fn) for name, fn in cases if not isinstance(fn, str)], args.repeat)
        for name, fn in cases:
            if isinstance(fn, str):
                rows.append([name, fn, "", ""])
                continue
            med, p95, size = results[name]
            rows.append([name, med, p95, f"{size / 1000:.0f} KB" if size else ""])
        print(table(["render (50 items)", "ms median", "p95", "output"], rows))


if __name__ == "__main__":
    main()
