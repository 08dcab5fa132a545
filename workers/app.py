"""The Celery app (a shim: configuration only). Tasks live in ``workers.tasks``.

Queues: ``poll`` (fetch + parse), ``process`` (ingest), ``publish`` (render feeds, deliver webhooks).
Beat runs two fixed entries, ``schedule_due`` and ``sweep``; the sources themselves are found in the
database, never one beat entry per source.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import setup_logging
from kombu import Queue

from syndication import logs
from syndication.settings import Settings

QUEUES = ("poll", "process", "publish")


def make_app(settings: Settings | None = None) -> Celery:
    settings = settings or Settings()
    app = Celery("syndication", include=["workers.tasks"])
    app.conf.update(
        broker_url=settings.effective_broker_url,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_queues=[Queue(q) for q in QUEUES],
        task_default_queue="process",
        task_routes={
            "syndication.schedule_due": {"queue": "poll"},
            "syndication.poll_source": {"queue": "poll"},
            "syndication.ingest": {"queue": "process"},
            "syndication.sweep": {"queue": "process"},
            "syndication.render_channel": {"queue": "publish"},
            "syndication.deliver": {"queue": "publish"},
        },
        task_serializer="json",
        accept_content=["json"],
        task_time_limit=600,
        task_soft_time_limit=540,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        task_send_sent_event=True,
        beat_schedule={
            "schedule-due": {"task": "syndication.schedule_due", "schedule": settings.schedule_every},
            "sweep": {"task": "syndication.sweep", "schedule": settings.sweep_every},
        },
        timezone="UTC",
    )
    return app


@setup_logging.connect
def _logging(loglevel: Any = "INFO", **_: Any) -> None:
    """One log format with the structured keys (syndication.logs) in workers and beat too."""
    logs.setup(loglevel or "INFO")


app = make_app()
