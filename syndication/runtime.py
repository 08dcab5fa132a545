"""What a running process holds: settings, the validated config, the database, an HTTP client.

Built once per process (after fork for Celery's prefork pool); stages receive values from it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from syndication import USER_AGENT
from syndication.config import load_config
from syndication.fetch.gate import Gate, redis_for_broker
from syndication.fetch.http import FetchLimits, make_client
from syndication.models import Config
from syndication.settings import Settings
from syndication.storage import db


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    config: Config
    engine: Engine
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_settings(cls, settings: Settings, config: Config | None = None) -> Runtime:
        config = config if config is not None else load_config(settings.config)
        return cls(settings=settings, config=config, engine=db.make_engine(settings.effective_database_url))

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return db.session_factory(self.engine)

    @cached_property
    def fetch_limits(self) -> FetchLimits:
        s = self.settings
        return FetchLimits(
            timeout=s.fetch_timeout, total_timeout=s.fetch_total_timeout, max_bytes=s.fetch_max_bytes
        )

    @cached_property
    def http(self) -> httpx.Client:
        return make_client(self.fetch_limits)

    @cached_property
    def gate(self) -> Gate | None:
        """Robots, per-host rate limits and holds, shared through the broker's Redis; None when no
        Redis broker is there (unit tests), in which case feeds are fetched directly."""
        url = self.settings.effective_broker_url
        if self.settings.embedded_broker and not self.settings.embedded_broker_socket.exists():
            return None
        try:
            client = redis_for_broker(url)
        except ValueError:
            return None
        return Gate(client, user_agent=USER_AGENT, http=self.http, limits=self.fetch_limits)

    def close(self) -> None:
        if "http" in self.__dict__:
            self.http.close()
        self.engine.dispose()
