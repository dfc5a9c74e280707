"""Ratio benchmarks; see the README."""
