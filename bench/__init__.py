"""Benchmarks: `make bench` (or `python -m bench [name ...]`) runs them and writes
bench/results/<name>.json and .md."""
