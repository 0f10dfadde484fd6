"""Run the whole system locally and in tests as real processes (see README)."""
