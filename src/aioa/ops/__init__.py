"""Operations: backup and restore, metrics, tracing, structured logs and service-level objectives."""
