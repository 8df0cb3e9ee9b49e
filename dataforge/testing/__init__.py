"""Helpers shared by tests and benchmarks (tiny offline models)."""
