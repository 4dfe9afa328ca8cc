"""Alembic environment: runs on the connection mios hands it (see ``engine.migrate``), or on
``sqlalchemy.url`` when the ``alembic`` command line is used directly."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from mios.persistence.tables import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url (or run migrations through mios)")
    with create_engine(url).begin() as own_connection:
        context.configure(connection=own_connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
