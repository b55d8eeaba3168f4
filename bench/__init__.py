"""Benchmarks: runnable by anyone (`python -m bench.<name>`), each printing its figures."""
