"""A tiny Celery app for ``broker_transports.py`` (not a benchmark itself): one no-op task.

The worker runs ``celery -A noop_celery_app worker`` with ``benchmarks/`` on ``PYTHONPATH``; the broker
comes from ``BENCH_BROKER_URL``, transport options (JSON) from ``BENCH_TRANSPORT_OPTIONS``, and
``BENCH_CELERY_DEFAULTS=1`` selects Celery's default ack/prefetch settings (see ``make_app``).

``bench.noop(path)`` does nothing but record that it ran: it appends one byte to ``path`` (a file
opened once per worker process with ``O_APPEND``, so each write is atomic and the file's size is the
number of tasks executed). The driver polls the size; that costs a ~2 µs syscall per task, whatever the
transport, and needs no second broker connection or result backend.

The settings follow ``workers/app.py`` where they matter for throughput: JSON, no result backend,
``acks_late`` with ``worker_prefetch_multiplier=1``. Task events, mingle, gossip, heartbeats and remote
control are off, so that every transport does the same work (the filesystem and sqla transports have
no fanout exchanges for events and broadcasts).
"""

from __future__ import annotations

import json
import os

from celery import Celery
from kombu import Queue

QUEUE = "bench"
_fds: dict[str, int] = {}


def make_app(
    broker_url: str, transport_options: dict[str, object] | None = None, *, celery_defaults: bool = False
) -> Celery:
    """The app; ``celery_defaults`` swaps workers/app.py's acks_late + prefetch 1 for Celery's defaults
    (ack before running, prefetch multiplier 4), to show what those two settings cost."""
    app = Celery("bench", set_as_current=False)
    app.conf.update(
        broker_url=broker_url,
        broker_transport_options=transport_options or {},
        broker_connection_retry_on_startup=True,
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=not celery_defaults,
        worker_prefetch_multiplier=4 if celery_defaults else 1,
        task_serializer="json",
        accept_content=["json"],
        task_queues=[Queue(QUEUE)],
        task_default_queue=QUEUE,
        worker_send_task_events=False,
        task_send_sent_event=False,
        worker_enable_remote_control=False,
        worker_hijack_root_logger=False,
    )

    @app.task(name="bench.noop")
    def noop(path: str) -> None:
        fd = _fds.get(path)
        if fd is None:
            fd = _fds[path] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, b".")

    return app


app = make_app(
    os.environ.get("BENCH_BROKER_URL", "memory://"),
    json.loads(os.environ.get("BENCH_TRANSPORT_OPTIONS", "{}")),
)
