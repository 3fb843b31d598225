"""Benchmark scripts; each prints JSON figures."""
