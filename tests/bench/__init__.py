"""Benchmarks and the synthetic registrations they (and tests) use; run as modules, not collected."""
