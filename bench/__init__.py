"""Benchmarks: each script starts its own servers and writes its figures to BENCHMARKS.md."""
