"""Webhooks out: endpoints per tenant, Standard Webhooks signatures, at-least-once delivery with a dead-letter list."""
