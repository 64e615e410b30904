"""Observations: batched, idempotent ingest of zone/feature/time values."""
