"""Cities: their zones, features, clock, graph and dataset card."""
