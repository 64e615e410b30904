"""``GET /cities/{city}/zones/{zone}``: one zone in detail."""
