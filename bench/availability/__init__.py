"""Benchmarks of the availability domain (print tables; nothing here asserts a time)."""
