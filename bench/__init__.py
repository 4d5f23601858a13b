"""Benchmarks; each script compares the gateway against a baseline measured in the same run."""
