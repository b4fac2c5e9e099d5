"""Capacity planning: peak calls and tokens per minute per org and provider, forecast against the rate limits."""
