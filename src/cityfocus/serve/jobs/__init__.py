"""Jobs: training and retraining run by worker processes (``cityfocus serve worker``)."""
