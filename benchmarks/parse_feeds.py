"""Feed parsing throughput: our ``parse_feed`` against bare feedparser and fastfeedparser.

Measures, per corpus, the time to turn one feed's bytes into entries:

* ``syndication parse_feed``: what the poll step runs (encoding detection and re-encoding to UTF-8 in
  ``fetch.encoding.to_utf8_xml``, feedparser, mapping to ``RawItem``).
* ``  of which to_utf8_xml``: the encoding step alone, to split our overhead from feedparser's.
* ``feedparser.parse(sanitize_html=False, resolve_relative_uris=False)``: feedparser with neither of
  its HTML passes over entry content, on the raw bytes (parse_feed's flags since b3a0043), and the
  same with the ``content-location`` response header parse_feed passes (the feed URL as base URI).
* ``feedparser.parse(sanitize_html=False)``: relative-URI resolution on (feedparser's default).
* ``feedparser.parse (defaults)``: bare feedparser as most code calls it (sanitizes HTML too).
* ``fastfeedparser.parse``: lxml-based peer (``pip install fastfeedparser``; the row says so when
  it is missing).

Corpora: the 100 gzipped real feeds of ``shared/corpus/feeds/real/fastfeedparser/benchmark_data``
(decompressed in memory first, before any timing) and the GB2312/Big5 ``*.xml`` feeds of
``shared/corpus/feeds/chinese-legacy-encodings``.

Each feed is parsed by each parser once per round (default 3 rounds), interleaved feed by feed so
that the load of other processes on the machine hits every parser alike; a feed's time is its
median over the rounds. Figures: ms per feed (median, p95 and max over feeds), feeds/s and MB/s
(corpus size / the median over rounds of the summed per-feed times), failures (an exception, or for
the peers no entries at all with a bozo flag), total entries, and ``count≠ours``: feeds for which
the parser found a different number of entries than parse_feed.

Run: ``.venv/bin/python benchmarks/parse_feeds.py [--rounds N]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

from _common import header, load_chinese_feeds, load_real_feeds, median, missing, peer, percentile, table

from syndication.fetch.encoding import to_utf8_xml
from syndication.parse.feed import parse_feed

Parser = Callable[[bytes], int]  # returns the number of entries; raises on failure


def ours(data: bytes) -> int:
    return len(parse_feed(data, url="https://example.org/feed.xml").items)


def ours_encoding(data: bytes) -> int:
    to_utf8_xml(data, None)
    return 0


def _feedparser_entries(result: Any) -> int:
    entries = result.get("entries") or []
    if not entries and result.get("bozo"):
        raise ValueError(f"no entries: {result.get('bozo_exception')!r}")
    return len(entries)


def parsers() -> list[tuple[str, Parser | str]]:
    rows: list[tuple[str, Parser | str]] = [
        ("syndication parse_feed", ours),
        ("  of which to_utf8_xml", ours_encoding),
    ]
    feedparser = peer("feedparser")
    if feedparser is None:
        rows.append(
            ("feedparser.parse(sanitize_html=False, resolve_relative_uris=False)", missing("feedparser"))
        )
        rows.append(("feedparser.parse(sanitize_html=False)", missing("feedparser")))
        rows.append(("feedparser.parse (defaults)", missing("feedparser")))
    else:
        rows.append(
            (
                "feedparser.parse(sanitize_html=False, resolve_relative_uris=False)",
                lambda d: _feedparser_entries(
                    feedparser.parse(io.BytesIO(d), sanitize_html=False, resolve_relative_uris=False)
                ),
            )
        )
        rows.append(
            (
                "  same + response_headers={content-location: URL}",
                lambda d: _feedparser_entries(
                    feedparser.parse(
                        io.BytesIO(d),
                        sanitize_html=False,
                        resolve_relative_uris=False,
                        response_headers={"content-location": "https://example.org/feed.xml"},
                    )
                ),
            )
        )
        rows.append(
            (
                "feedparser.parse(sanitize_html=False)",
                lambda d: _feedparser_entries(feedparser.parse(io.BytesIO(d), sanitize_html=False)),
            )
        )
        rows.append(
            ("feedparser.parse (defaults)", lambda d: _feedparser_entries(feedparser.parse(io.BytesIO(d))))
        )
    fastfeedparser = peer("fastfeedparser")
    if fastfeedparser is None:
        rows.append(("fastfeedparser.parse", missing("fastfeedparser")))
    else:
        rows.append(("fastfeedparser.parse", lambda d: len(fastfeedparser.parse(d).get("entries") or [])))
    return rows


def measure(named: list[tuple[str, Parser]], feeds: list[tuple[str, bytes]], rounds: int) -> dict[str, Any]:
    """Every parser on every feed, interleaved (feed by feed, parser by parser) so that a change in
    the machine's load during the run hits all parsers alike."""
    per_feed = {label: [[] for _ in feeds] for label, _ in named}
    counts: dict[str, dict[str, int]] = {label: {} for label, _ in named}
    for r in range(rounds):
        for i, (name, data) in enumerate(feeds):
            for label, parse in named:
                t0 = time.perf_counter()
                try:
                    n = parse(data)
                except Exception:
                    n = -1
                per_feed[label][i].append(time.perf_counter() - t0)
                if r == 0:
                    counts[label][name] = n
    size_mb = sum(len(d) for _, d in feeds) / 1e6
    out = {}
    for label, _ in named:
        times_ms = [statistics.median(t) * 1000 for t in per_feed[label]]
        wall = statistics.median(sum(t[r] for t in per_feed[label]) for r in range(rounds))
        out[label] = {
            "median": median(times_ms),
            "p95": percentile(times_ms, 95),
            "max": max(times_ms),
            "feeds_s": len(feeds) / wall,
            "mb_s": size_mb / wall,
            "failures": {n for n, c in counts[label].items() if c < 0},
            "entries": sum(c for c in counts[label].values() if c > 0),
            "counts": counts[label],
        }
    return out


def run_corpus(title: str, feeds: list[tuple[str, bytes]], rounds: int) -> None:
    size = sum(len(d) for _, d in feeds)
    print(f"\n## {title}: {len(feeds)} feeds, {size / 1e6:.1f} MB, {rounds} rounds")
    rows = []
    failed: dict[str, set[str]] = {}
    reference: dict[str, int] | None = None
    notes: list[str] = []
    available = [(label, parse) for label, parse in parsers() if not isinstance(parse, str)]
    for _, parse in available:
        for _, data in feeds[:3]:  # warm up imports and caches
            with contextlib.suppress(Exception):
                parse(data)
    measured = measure(available, feeds, rounds)
    for label, parse in parsers():
        if isinstance(parse, str):
            rows.append([label, parse, "", "", "", "", "", "", ""])
            continue
        m = measured[label]
        failed[label] = m["failures"]
        if reference is None:
            reference = m["counts"]
        encoding_only = label == "  of which to_utf8_xml"
        differ = [
            n for n, c in m["counts"].items() if c >= 0 and reference.get(n, -1) >= 0 and c != reference[n]
        ]
        rows.append(
            [
                label,
                m["median"],
                m["p95"],
                m["max"],
                m["feeds_s"],
                m["mb_s"],
                len(m["failures"]),
                "" if encoding_only else m["entries"],
                "" if encoding_only else len(differ),
            ]
        )
        if differ and not encoding_only:
            shown = ", ".join(f"{n} {reference[n]}->{m['counts'][n]}" for n in sorted(differ)[:8])
            notes.append(f"  entry counts of {label.strip()} that differ from parse_feed's: {shown}")
    print(
        table(
            [
                "parser",
                "ms/feed median",
                "p95",
                "max",
                "feeds/s",
                "MB/s",
                "failures",
                "entries",
                "count≠ours",
            ],
            rows,
        )
    )
    for label, names in failed.items():
        if names:
            print(f"  failures of {label.strip()}: {', '.join(sorted(names))}")
    for note in notes:
        print(note)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # feedparser's DeprecationWarnings
    header("parse_feeds")
    run_corpus("real feeds (fastfeedparser benchmark_data, gunzipped)", load_real_feeds(), args.rounds)
    run_corpus("chinese-legacy-encodings (GB2312 + Big5 *.xml)", load_chinese_feeds(), args.rounds)


if __name__ == "__main__":
    main()
