"""Benchmarks, run with ``make bench`` (``python -m benchmarks``). Ratios from one run."""
