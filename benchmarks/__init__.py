"""Benchmark suites: synthetic scenes × mask-corruption presets × methods, recorded, not asserted.

`python -m benchmarks.run` (or `make bench`) regenerates `benchmarks/results/*.json` and `BENCHMARKS.md`.
"""
