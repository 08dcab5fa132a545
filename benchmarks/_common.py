"""Helpers shared by the benchmark scripts (not a benchmark itself).

Corpus loading, percentiles, table printing and optional-peer imports. Every benchmark is run as
``.venv/bin/python benchmarks/NAME.py`` from the repository root; this module makes the repository
root importable (for ``tests.servers``) and finds the shared corpus.
"""

from __future__ import annotations

import gzip
import importlib
import math
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SHARED = Path(os.environ.get("SYNDICATION_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus" / "feeds"
REAL_FEEDS = CORPUS / "real" / "fastfeedparser" / "benchmark_data"
CHINESE_LEGACY = CORPUS / "chinese-legacy-encodings"


def load_real_feeds() -> list[tuple[str, bytes]]:
    """The 100 gzipped real feeds of fastfeedparser's benchmark_data, decompressed in memory."""
    return [
        (p.name.removesuffix(".gz"), gzip.decompress(p.read_bytes())) for p in sorted(REAL_FEEDS.glob("*.gz"))
    ]


def load_chinese_feeds() -> list[tuple[str, bytes]]:
    """The GB2312 and Big5 feeds of the chardet corpus (``*.xml`` only: the .txt/.html are not feeds)."""
    out = []
    for folder in ("GB2312", "Big5"):
        for p in sorted((CHINESE_LEGACY / folder).glob("*.xml")):
            out.append((f"{folder}/{p.name}", p.read_bytes()))
    return out


def peer(module: str) -> ModuleType | None:
    """Import an optional peer library for a side-by-side row, or None when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def missing(package: str) -> str:
    return f"peer not installed: pip install {package}"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (pasted as-is into benchmarks/README.md)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) if i < len(r) else 0 for r in cells) for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        padded = [(r[i] if i < len(r) else "").ljust(widths[i]) for i in range(len(widths))]
        return "| " + " | ".join(padded) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def _cell(v: Any) -> str:
    if isinstance(v, float):
        if v != v:  # nan
            return "-"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.2f}"
    return str(v)


def code_state() -> str:
    """The commit benchmarked, and how many files of the package differ from it (others may be editing)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "syndication", "workers"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "commit unknown"
    return f"commit {head}" + (
        f" + {len(dirty)} uncommitted file(s) in syndication/, workers/" if dirty else ""
    )


def header(title: str) -> None:
    """Print what ran where, so pasted figures carry their context."""
    print(f"# {title}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M}Z, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}, load average {load}; {code_state()}"
    )
