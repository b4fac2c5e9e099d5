"""AI Orchestration Analytics: the shared package (settings, contracts, ingestion, pricing, attribution, data access)."""

__version__ = "0.1.0"
