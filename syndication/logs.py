"""Logging with the same structured keys everywhere: ``source_id``, ``url``, ``poll_id``,
``article_id``, ``delivery_id``, ``channel_id``, ``status``, ``error``. Pass them with
``log.info("...", extra={...})``; the formatter appends them as ``key=value``."""

from __future__ import annotations

import logging

KEYS = ("source_id", "poll_id", "article_id", "delivery_id", "channel_id", "url", "status", "error")


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        pairs = [f"{k}={getattr(record, k)!r}" for k in KEYS if getattr(record, k, None) is not None]
        return f"{line} {' '.join(pairs)}" if pairs else line


def setup(level: int | str = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
