"""Benchmarks of the streaming pipeline: `python -m bench` (or `make bench`).

See `bench/README.md` for what each benchmark measures and how.
"""
