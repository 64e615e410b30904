"""The service's store: tables, engine and migrations (SQLite by default, PostgreSQL by URL)."""

from cityfocus.serve.store.engine import Store, open_store, resolve_url

__all__ = ["Store", "open_store", "resolve_url"]
