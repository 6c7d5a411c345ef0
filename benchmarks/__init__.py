"""Benchmarks for `make bench`: ratios measured in one run, ours against a reference on the same input."""
