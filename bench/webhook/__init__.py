"""Benchmarks of the Graph webhook intake (print tables; nothing here asserts a time)."""
