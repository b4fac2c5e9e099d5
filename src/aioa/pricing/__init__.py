"""Pricing: prices from the maintained genai-prices library, user overrides, and set-based costing in SQL."""

from aioa.pricing.apply import apply_prices
from aioa.pricing.catalog import PriceCatalog, ResolvedPrice

__all__ = ["PriceCatalog", "ResolvedPrice", "apply_prices"]
