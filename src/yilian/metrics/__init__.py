"""Prometheus metrics of the API, the worker and the gateway (docs/ops.md): counts and latencies, never patient data."""
