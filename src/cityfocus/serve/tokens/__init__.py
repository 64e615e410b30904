"""API tokens: scopes read < write < admin, optionally limited to cities, stored hashed."""
