"""Alembic environment: runs the gateway's migrations on the connection (or URL) it is given."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from gateway.capacity import models as capacity_models  # noqa: F401  (registers the centre sync table)
from gateway.ingest import models as ingest_models  # noqa: F401  (registers the ingest tables)
from gateway.storage import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from gateway.storage.db import make_engine
from gateway.subscriptions import models as subscription_models  # noqa: F401  (the subscription tables)
from security import models as security_models  # noqa: F401  (registers the security tables)

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
