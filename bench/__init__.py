"""Benchmarks for Relayflow (run as modules, e.g. `python -m bench.engine_throughput`)."""
