"""Outcomes: what a decision then met (realized demand), its regret, hit rate and PAI,
rolling performance per model version, and the retrain policy that closes the loop."""
