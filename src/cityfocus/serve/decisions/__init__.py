"""Decisions: forecast from the stored observations, allocate exactly, explain, store."""
