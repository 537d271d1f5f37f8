"""Accuracy and speed benchmarks (not part of the timed test suite)."""
