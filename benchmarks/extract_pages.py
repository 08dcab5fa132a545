"""Measure article extraction on the real pages of ../shared/corpus/pages (gne, readability).

    .venv/bin/python benchmarks/extract_pages.py [--corpus PATH]

Prints, per page set, title / date / author / source / body figures and ms/page for our extractor
(``syndication.parse.page.extract_article``) and the peers trafilatura and GNE ("not installed" rows
when missing; install them with ``.venv/bin/pip install trafilatura gne``, benchmark only).

Scoring follows the corpus SOURCE.md files:
- title: exact match after whitespace normalisation;
- date: equal at minute resolution (``YYYY-MM-DD HH:MM``, Beijing time for naive values); readability:
  equal calendar date when the label has no time; "day": the same calendar date (Beijing), which is
  what a peer that returns dates without a time (trafilatura) can get right;
- author: exact match after whitespace normalisation;
- editor: GNE's silver "author" labels are the page's 责任编辑 (responsible editor) line, which we keep
  apart from the author (issue 3), so they are scored as "editor": our ``editor`` field, and the
  peers' only byline field ("未知" and "搜索" labels are skipped: they are known to be wrong);
- body: F1 of the multisets of character 4-grams of the text with whitespace removed (mean over pages;
  a failed extraction counts 0).
Page sets: "gne silver" (the 20 pages of result.txt: GNE's own 2019 output, a silver baseline),
"gov meta" (the gne pages carrying ``ArticleTitle``/``PubDate``/``ContentSource``: the meta tags are the
labels), "readability" (130 pages, mostly English) and "readability zh" (gmw, qq, youth, pixnet).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from syndication.fetch.encoding import decode_bytes
from syndication.parse.page import extract_article
from syndication.process.normalize import parse_datetime

BEIJING = ZoneInfo("Asia/Shanghai")
Result = dict[str, Any]  # title, published (datetime | None), author, source, text


def ours(html: str, url: str) -> Result:
    a = extract_article(html, url=url)
    return {
        "title": a.title,
        "published": a.published,
        "author": a.author,
        "editor": a.editor,
        "source": a.source,
        "text": a.content_text,
    }


def _peer(title: str | None, date: str | None, author: str | None, text: str | None) -> Result:
    """A peer's answer in our terms: its date text read in Beijing time, no 来源 (neither has one)."""
    return {
        "title": title,
        "published": parse_datetime(date, tz="Asia/Shanghai"),
        "author": author,
        "source": None,
        "text": text or "",
    }


def _trafilatura() -> Callable[[str, str], Result] | None:
    try:
        import trafilatura
    except ImportError:
        return None

    def run(html: str, url: str) -> Result:
        doc = trafilatura.bare_extraction(html, url=url, with_metadata=True)
        if doc is None:
            raise ValueError("no result")
        d = doc if isinstance(doc, dict) else doc.as_dict()
        return _peer(d.get("title"), d.get("date"), d.get("author"), d.get("text"))

    return run


def _gne() -> Callable[[str, str], Result] | None:
    try:
        from gne import GeneralNewsExtractor
    except ImportError:
        return None
    extractor = GeneralNewsExtractor()

    def run(html: str, url: str) -> Result:
        d = extractor.extract(html, host=url)
        return _peer(d.get("title"), d.get("publish_time"), d.get("author"), d.get("content"))

    return run


# --- scoring ----------------------------------------------------------------------------------------


def norm(text: str | None) -> str:
    return " ".join((text or "").split())


def shingles(text: str) -> Counter[str]:
    squeezed = re.sub(r"\s+", "", text or "")
    return Counter(squeezed[i : i + 4] for i in range(max(0, len(squeezed) - 3)))


def f1(got: str, expected: str) -> float:
    a, b = shingles(got), shingles(expected)
    overlap = sum((a & b).values())
    if not overlap:
        return 0.0
    p, r = overlap / sum(a.values()), overlap / sum(b.values())
    return 2 * p * r / (p + r)


def minute(when: datetime | None) -> str | None:
    return when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if when else None


# --- page sets --------------------------------------------------------------------------------------

Case = dict[str, Any]  # path, url, html, labels: title/published/author/source/text (None = unlabelled)


def gne_silver(corpus: Path) -> list[Case]:
    root = corpus / "pages" / "gne"
    blocks = re.findall(
        r">{5,}(\S+?)>{5,}\s*(\{.*?\})\s*<{5,}", (root / "result.txt").read_text("utf-8"), re.S
    )
    cases = []
    for path, raw in blocks:
        label = json.loads(raw)
        html = decode_bytes((root / path).read_bytes())[0]
        author = label.get("author") or None
        cases.append({
            "path": path, "url": f"https://example.com/{path}", "html": html,
            "title": label["title"], "published": minute(parse_datetime(label["publish_time"], tz="Asia/Shanghai")), "date_only": False,
            "author": None, "editor": None if author in ("未知", "搜索") else author, "silver": True,
            "source": None, "text": label["content"],
        })  # fmt: skip
    return cases


LABELS = Path(__file__).resolve().parent / "labels" / "gne_extra.json"


def gne_hand_labelled(corpus: Path) -> list[Case]:
    """The other gne pages (government, university, news), labelled by hand: labels/README.md."""
    if not LABELS.is_file():
        return []
    root = corpus / "pages" / "gne"
    cases = []
    for path, label in json.loads(LABELS.read_text("utf-8")).items():
        if "skip" in label:
            continue
        html = decode_bytes((root / path).read_bytes())[0]
        published = label.get("published")
        cases.append({
            "path": path, "url": f"https://example.com/{path}", "html": html, "title": label.get("title"),
            "published": minute(parse_datetime(published, tz="Asia/Shanghai")) if published else None,
            "date_only": bool(published and not re.search(r"\d:\d", published)),
            "author": label.get("author") or "", "editor": label.get("editor") or "",
            "source": label.get("source") or "", "text": label.get("body"), "silver": False,
        })  # fmt: skip
    return cases


def gov_meta(corpus: Path) -> list[Case]:
    cases = []
    for path in sorted((corpus / "pages" / "gne").glob("**/*.html")):
        html = decode_bytes(path.read_bytes())[0]
        root = lxml.html.document_fromstring(html)
        meta = {(m.get("name") or "").lower(): (m.get("content") or "").strip() for m in root.iter("meta")}
        if not meta.get("articletitle"):
            continue
        cases.append({
            "path": str(path.relative_to(corpus)), "url": f"https://example.gov.cn/{path.name}", "html": html,
            "title": meta["articletitle"], "published": (meta.get("pubdate") or "")[:16] or None,
            "date_only": False, "author": meta.get("author") or None, "editor": None, "silver": False,
            "source": meta.get("contentsource") or None, "text": None,
        })  # fmt: skip
    return cases


def readability(corpus: Path, only: set[str] | None = None) -> list[Case]:
    cases = []
    for case in sorted((corpus / "pages" / "readability" / "test" / "test-pages").iterdir()):
        if only and case.name not in only:
            continue
        meta = json.loads((case / "expected-metadata.json").read_text("utf-8"))
        html = decode_bytes(gzip.decompress((case / "source.html.gz").read_bytes()))[0]
        expected = gzip.decompress((case / "expected.html.gz").read_bytes()).decode("utf-8")
        published = meta.get("publishedTime")
        when = parse_datetime(published, tz="Asia/Shanghai") if published else None
        cases.append({
            "path": case.name, "url": "http://fakehost/test/page.html", "html": html,
            "title": meta.get("title"), "published": minute(when),
            "date_only": bool(published and not re.search(r"\d:\d", published)),
            "author": meta.get("byline"), "editor": None, "source": None, "silver": False,
            "text": lxml.html.fromstring(expected).text_content() if expected.strip() else "",
        })  # fmt: skip
    return cases


# --- running ----------------------------------------------------------------------------------------


def score(run: Callable[[str, str], Result], cases: list[Case]) -> dict[str, str]:
    hits: dict[str, list[float]] = {
        "title": [], "date": [], "day": [], "author": [], "editor": [], "source": [], "body": []
    }  # fmt: skip
    elapsed = 0.0
    for case in cases:
        started = time.perf_counter()
        try:
            got: Result | None = run(case["html"], case["url"])
        except Exception:
            got = None
        elapsed += time.perf_counter() - started
        got = got or {}
        if case["title"] is not None:
            hits["title"].append(float(norm(got.get("title")) == norm(case["title"])))
        if case["published"] is not None:
            have = minute(got.get("published"))
            same_day = float(have is not None and have[:10] == case["published"][:10])
            hits["day"].append(same_day)
            hits["date"].append(same_day if case["date_only"] else float(have == case["published"]))
        if case["author"] is not None:
            hits["author"].append(float(norm(got.get("author")) == norm(case["author"])))
        if case["editor"] is not None:
            # GNE's silver labels name the editor "author": a peer's only byline field is its answer.
            editor = got.get("editor") if "editor" in got else got.get("author") if case["silver"] else None
            hits["editor"].append(float(norm(editor) == norm(case["editor"])))
        if case["source"] is not None:
            hits["source"].append(float(norm(got.get("source")) == norm(case["source"])))
        if case["text"] is not None:
            hits["body"].append(f1(got.get("text") or "", case["text"]))
    row = {k: (f"{sum(v) / len(v):.2f} (n={len(v)})" if v else "-") for k, v in hits.items()}
    row["ms/page"] = f"{1000 * elapsed / max(1, len(cases)):.1f}"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus"
    )
    args = parser.parse_args()
    extractors = {"syndication": ours, "trafilatura": _trafilatura(), "gne": _gne()}
    sets = {
        "gne silver (result.txt)": gne_silver(args.corpus),
        "gne hand-labelled (labels/gne_extra.json)": gne_hand_labelled(args.corpus),
        "gov meta (ArticleTitle pages)": gov_meta(args.corpus),
        "readability (all)": readability(args.corpus),
        "readability zh": readability(args.corpus, {"gmw", "qq", "youth", "pixnet"}),
    }
    columns = ["title", "date", "day", "author", "editor", "source", "body", "ms/page"]
    for name, cases in sets.items():
        print(f"\n## {name}: {len(cases)} pages\n")
        print("| extractor | " + " | ".join(columns) + " |")
        print("|---" * (len(columns) + 1) + "|")
        for label, run in extractors.items():
            if run is None:
                print(f"| {label} | " + " | ".join(["not installed"] + [""] * (len(columns) - 1)) + " |")
                continue
            row = score(run, cases)
            print(f"| {label} | " + " | ".join(row[c] for c in columns) + " |")


if __name__ == "__main__":
    main()
