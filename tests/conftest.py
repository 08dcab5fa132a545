"""Shared fixtures: a database on each backend, a migrated engine, and a Runtime builder.

    database_url      parametrized: "sqlite" (a file in tmp_path) and "postgresql" (a fresh database
                      ``synd_<hex>`` on the local server, dropped WITH (FORCE) afterwards). PostgreSQL
                      not reachable is a test FAILURE, not a skip: CI starts it.
    engine            syndication.storage.db.make_engine(database_url), disposed afterwards
    migrated_engine   the same engine after syndication.storage.db.upgrade (head)
    make_runtime      factory: make_runtime(config, **settings) -> Runtime on migrated_engine, with the
                      config's sources and channels mirrored into the tables (as `syndication run` does)
    make_config       factory: a Config built in code (sources, channels, webhooks)

Integration fixtures (workers, brokers) belong in tests/integration/conftest.py.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from syndication.models import ChannelConfig, Config, SourceConfig, WebhookConfig
from syndication.runtime import Runtime
from syndication.settings import Settings
from syndication.storage import db, repo

# The server the "postgresql" backend creates its throwaway databases on.
PG_ADMIN_URL = os.environ.get("SYNDICATION_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def _pg_admin() -> psycopg.Connection[Any]:
    url = make_url(PG_ADMIN_URL)
    try:
        return psycopg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            dbname=url.database,
            autocommit=True,
            connect_timeout=5,
        )
    except psycopg.OperationalError as e:
        error = " ".join(str(e).split())
    pytest.fail(
        f"PostgreSQL is not reachable at {url.render_as_string(hide_password=True)}: {error}. "
        "These tests run on SQLite AND PostgreSQL and do not skip: start PostgreSQL "
        "(CI does) or point SYNDICATION_TEST_PG_URL at one.",
        pytrace=False,
    )


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'syndication.db'}"
        return
    name = "synd_" + secrets.token_hex(8)
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = db.make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def migrated_engine(engine: Engine) -> Engine:
    db.upgrade(engine)
    return engine


def build_config(
    sources: Sequence[SourceConfig] = (),
    channels: Sequence[ChannelConfig] = (),
    webhooks: Sequence[WebhookConfig] = (),
    *,
    path: str = "test.toml",
    **kw: Any,
) -> Config:
    """A Config built in code (no TOML); ``kw`` passes disclaimers / template_dirs."""
    return Config(path=path, sources=tuple(sources), channels=tuple(channels), webhooks=tuple(webhooks), **kw)


@pytest.fixture
def make_config() -> Callable[..., Config]:
    return build_config


def sync_runtime(rt: Runtime, now: datetime | None = None) -> None:
    """Mirror rt.config's sources and channels into the tables (what `syndication run` does first)."""
    with db.transaction(rt.sessions) as s:
        at = now or datetime.now(UTC)
        repo.sync_sources(s, rt.config, at)
        repo.sync_channels(s, rt.config, at)


@pytest.fixture
def make_runtime(
    migrated_engine: Engine, database_url: str, tmp_path: Path
) -> Iterator[Callable[..., Runtime]]:
    """``make_runtime(config, sync=True, **settings)``: a Runtime on the migrated test database.

    ``settings`` override Settings fields (e.g. fetch_timeout=0.5, webhook_max_attempts=3). The
    config's sources and channels are synced into the tables unless ``sync=False``."""
    made: list[Runtime] = []

    def make(config: Config, *, sync: bool = True, **settings: Any) -> Runtime:
        st = Settings(
            database_url=database_url,
            data_dir=tmp_path,
            config=str(tmp_path / config.path),
            **settings,
        )
        rt = Runtime(settings=st, config=config, engine=migrated_engine)
        made.append(rt)
        if sync:
            sync_runtime(rt)
        return rt

    yield make
    for rt in made:
        if "http" in rt.__dict__:
            rt.http.close()
