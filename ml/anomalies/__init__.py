"""Anomaly detection: cost spikes, usage surges, error bursts, runaway agents and latency degradation."""
