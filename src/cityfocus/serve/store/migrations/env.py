"""Alembic environment: runs on the connection ``cityfocus.serve.store.migrate`` hands over
(``config.attributes["connection"]``), so no alembic.ini and no URL are needed here."""

from __future__ import annotations

from alembic import context

from cityfocus.serve.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through cityfocus.serve.store.migrate
    raise RuntimeError("run migrations through cityfocus.serve.store.migrate")

context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
