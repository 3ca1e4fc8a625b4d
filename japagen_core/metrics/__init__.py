"""Metrics: pure functions over in-memory data, keyword-only options, each score with a signature."""
