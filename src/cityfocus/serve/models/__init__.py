"""Model versions: forecaster checkpoints registered per city, one of them active."""
