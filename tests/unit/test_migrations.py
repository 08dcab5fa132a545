"""Alembic migrations against real SQLite and PostgreSQL: head, idempotence, ensure_current, and the
ORM metadata (storage.tables) matching what the migrations create."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, inspect, text

from syndication.errors import DatabaseBehind
from syndication.storage import db
from syndication.storage.tables import Base

TABLES = {"sources", "polls", "articles", "sightings", "channel_feeds", "deliveries"}


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _schema_snapshot(engine: Engine) -> dict[str, object]:
    insp = inspect(engine)
    return {
        t: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(t)],
            sorted((i["name"], tuple(i["column_names"])) for i in insp.get_indexes(t)),
        )
        for t in sorted(insp.get_table_names())
    }


def _diffs(engine: Engine, metadata: MetaData) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(ctx, metadata))


def test_upgrade_empty_database_reaches_head(engine: Engine) -> None:
    assert db.current_revision(engine) is None
    assert not (_tables(engine) & TABLES)
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert _tables(engine) >= TABLES | {"alembic_version"}


def test_upgrade_twice_is_a_noop(engine: Engine) -> None:
    db.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO channel_feeds (channel_id, item_count, dirty_since) VALUES ('keep-me', 3, NULL)"
            )
        )
    before = _schema_snapshot(engine)
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert _schema_snapshot(engine) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        assert conn.execute(text("SELECT item_count FROM channel_feeds")).scalars().all() == [3]


def test_ensure_current_refuses_an_empty_database(engine: Engine) -> None:
    with pytest.raises(DatabaseBehind, match=r"syndication db upgrade"):
        db.ensure_current(engine)
    db.upgrade(engine)
    db.ensure_current(engine)  # no exception


def test_orm_metadata_matches_the_migrations(migrated_engine: Engine) -> None:
    # Investigated: alembic (compare_type=True) reports nothing for UTCDateTime vs the migrations'
    # DateTime(timezone=True) on either backend, so no difference is filtered out here.
    assert _diffs(migrated_engine, Base.metadata) == []


def test_metadata_comparison_can_see_a_difference(migrated_engine: Engine) -> None:
    """The comparison above is not vacuous: a model with an extra column and table is reported."""
    extra = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(extra)
    extra.tables["articles"].append_column(Column("not_migrated", Integer))
    diffs = _diffs(migrated_engine, extra)
    assert any(d[0] == "add_column" and d[3].name == "not_migrated" for d in diffs if isinstance(d, tuple))


def test_unknown_revision_is_a_clear_database_behind(migrated_engine: Engine) -> None:
    """Regression: alembic's get_revision raises CommandError for an unknown id (it does not
    return None); ensure_current must still answer DatabaseBehind."""
    with migrated_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff9999'"))
    with pytest.raises(DatabaseBehind, match=r"ffff9999.*does not know"):
        db.ensure_current(migrated_engine)
