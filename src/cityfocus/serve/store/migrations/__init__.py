"""Alembic migrations of the service's store, applied on start by ``store.migrate``."""
