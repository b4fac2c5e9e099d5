"""Ingestion: readers that turn usage logs into contract rows, loaded set-based, incrementally and idempotently."""
