"""Alembic environment: the engine is handed in by syndication.storage.db (no alembic.ini)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from syndication.storage.tables import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # `alembic` run by hand: -x url=...
    engine = create_engine(context.get_x_argument(as_dictionary=True)["url"])

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
