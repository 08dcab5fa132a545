"""Celery tasks: thin wrappers over :mod:`syndication.pipeline`. Each takes an ID, is idempotent and
runs with ``acks_late``; follow-up work is enqueued only after the step's transaction has committed.

The database is the source of truth: :func:`sweep` re-enqueues any unit of work whose message was
lost (a worker killed mid-task, a broker restarted empty), and a source's poll lease runs out by itself.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Task
from celery.signals import worker_process_init, worker_process_shutdown

from syndication import pipeline
from syndication.runtime import Runtime, utcnow
from syndication.settings import Settings
from syndication.storage import repo
from syndication.storage.db import ensure_current, transaction
from workers.app import app

log = logging.getLogger("syndication.tasks")
_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime.from_settings(Settings())
        ensure_current(_runtime.engine)
    return _runtime


@worker_process_init.connect
def _fresh_runtime(**_: Any) -> None:
    """Never share a parent's database connections or HTTP client across fork."""
    global _runtime
    if _runtime is not None:
        _runtime.engine.dispose(close=False)
    _runtime = None


@worker_process_shutdown.connect
def _close_runtime(**_: Any) -> None:
    if _runtime is not None:
        _runtime.close()


class PipelineTask(Task):
    """Base task: acks late, requeued if the worker dies, retried on unexpected errors."""

    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = (Exception,)
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5


def task(name: str) -> Any:
    return app.task(name=f"syndication.{name}", base=PipelineTask, bind=True)


@task("schedule_due")
def schedule_due(self: Task) -> int:
    rt = runtime()
    with transaction(rt.sessions) as s:
        ids = repo.claim_due_sources(s, utcnow(), timedelta(seconds=rt.settings.poll_lease_seconds))
    for source_id in ids:
        poll_source.delay(source_id)
    return len(ids)


@task("poll_source")
def poll_source(self: Task, source_id: str) -> int | None:
    poll_id = pipeline.poll(runtime(), source_id)
    if poll_id is not None:
        ingest.delay(poll_id)
    return poll_id


@task("ingest")
def ingest(self: Task, poll_id: int) -> int:
    outcome = pipeline.ingest(runtime(), poll_id)
    if outcome is None:
        return 0
    for channel_id in outcome.channels:
        render_channel.delay(channel_id)
    if not runtime().settings.webhook_hold:
        for delivery_id in outcome.deliveries:
            deliver.delay(delivery_id)
    return outcome.new


@task("render_channel")
def render_channel(self: Task, channel_id: str) -> bool:
    return pipeline.render(runtime(), channel_id)


@task("deliver")
def deliver(self: Task, delivery_id: int) -> str:
    outcome = pipeline.deliver(runtime(), delivery_id)
    if outcome.status == "pending" and outcome.retry_in is not None:
        deliver.apply_async((delivery_id,), countdown=max(0.0, outcome.retry_in))
    return outcome.status


@task("sweep")
def sweep(self: Task) -> dict[str, int]:
    """Re-enqueue work whose message was lost: polls not ingested, channels left dirty, deliveries
    overdue. Each task is idempotent, so a duplicate message is harmless."""
    rt = runtime()
    now = utcnow()
    grace = now - timedelta(seconds=max(30.0, rt.settings.sweep_every))
    with transaction(rt.sessions, write=False) as s:
        polls = repo.unfinished_polls(s, grace)
        channels = repo.dirty_channels(s, grace)
        deliveries = repo.due_deliveries(s, grace)
    for poll_id in polls:
        ingest.delay(poll_id)
    for channel_id in channels:
        render_channel.delay(channel_id)
    for delivery_id in deliveries:
        deliver.delay(delivery_id)
    found = {"polls": len(polls), "channels": len(channels), "deliveries": len(deliveries)}
    if any(found.values()):
        log.info(
            "sweep re-enqueued lost work: %(polls)d polls, %(channels)d channels, %(deliveries)d deliveries",
            found,
        )
    return found
