"""Alembic environment: migrate the connection cagents.store.migrate hands over.

Run from the command line (developers generating a revision), it opens the URL of the
`sqlalchemy.url` option, else CAGENTS_DB_URL / the workbench default.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from cagents.store.models import Base, is_text_search_object


def _run(connection: Connection) -> None:
    # The text search's FTS table and trigram index are made by SQL the models cannot state
    # (revision 0003): autogenerate must not propose to drop them.
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True,
                      include_name=lambda name, _type, _parents: not is_text_search_object(name))
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from cagents.store.db import create_store_engine
    from cagents.store.home import default_database_url

    engine = create_store_engine(context.config.get_main_option("sqlalchemy.url") or default_database_url())
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()
