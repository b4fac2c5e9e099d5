"""Tenants: per-org settings (budgets, prices, attribution, retention, branding, quotas), quotas and billing."""
