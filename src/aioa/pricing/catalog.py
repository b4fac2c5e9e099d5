"""Resolving a model's prices at a point in time: user overrides first, then genai-prices; never a guess."""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

# Price components we cost, as (genai-prices usage key, fallbacks in the library's own unit hierarchy).
COMPONENTS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")


@dataclass(frozen=True)
class ComponentPrice:
    """USD per million tokens; `tiers` are (start, price) pairs: above `start` total input tokens, all tokens pay `price`."""

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...] = ()


@dataclass(frozen=True)
class ResolvedPrice:
    provider: str
    model: str
    matched_model: str
    source: str
    version: str
    components: dict[str, ComponentPrice] = field(default_factory=dict)
    time_dependent: bool = False


class PriceOverride(BaseModel):
    """One entry of the user override file (negotiated or self-hosted prices, USD per million tokens)."""

    model_config = ConfigDict(extra="forbid")

    model: str  # exact name or fnmatch glob
    provider: str | None = None
    input_mtok: Decimal
    output_mtok: Decimal
    cache_read_mtok: Decimal | None = None
    cache_write_mtok: Decimal | None = None
    cache_write_1h_mtok: Decimal | None = None
    valid_from: date | None = None
    note: str | None = None


class PriceOverrideFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prices: list[PriceOverride] = []


def load_overrides(path: Path | None) -> tuple[list[PriceOverride], str]:
    if path is None or not path.exists():
        return [], ""
    raw = path.read_bytes()
    parsed = PriceOverrideFile.model_validate(yaml.safe_load(raw) or {})
    return parsed.prices, hashlib.sha256(raw).hexdigest()[:12]


TENANT_SOURCE = "override:tenant:"  # price_source of rows costed by their org's own override (`…:<org_id>`)


class PriceCatalog:
    """Looks up prices. Unknown models return None: the caller flags them, it never costs them at zero.

    `tenant_overrides` are orgs' own price lists (tenant settings, `{org_id: entries}`): `resolve_for_org` answers
    from them only, and the costing asks it first for that org's rows, so one org's negotiated price never costs
    another org's calls."""

    def __init__(
        self, overrides_file: Path | None = None, tenant_overrides: dict[str, list[PriceOverride]] | None = None
    ) -> None:
        self.overrides, self.overrides_digest = load_overrides(overrides_file)
        self.overrides_name = overrides_file.name if overrides_file else ""
        self.library_version = f"genai-prices {version('genai-prices')}"
        self._library_models: dict[tuple[str | None, str], object] = {}
        self.tenant_overrides = {org: list(entries) for org, entries in (tenant_overrides or {}).items() if entries}
        self.tenant_digests = {org: _digest(entries) for org, entries in self.tenant_overrides.items()}

    def resolve_for_org(self, org_id: str, provider: str | None, model: str, at: datetime) -> ResolvedPrice | None:
        """The org's own price for the model (None when its overrides do not name it)."""
        entries = self.tenant_overrides.get(org_id)
        override = _matching(entries, provider, model, at) if entries else None
        if override is None:
            return None
        price = self._from_override(provider, model, override)
        return replace(price, source=f"{TENANT_SOURCE}{org_id}", version=self.tenant_digests[org_id])

    def tenant_names(self, org_id: str, provider: str | None, model: str) -> bool:
        """Whether the org's overrides name this model at any date."""
        return any(_names(entry, provider, model) for entry in self.tenant_overrides.get(org_id, ()))

    def resolve(self, provider: str | None, model: str, at: datetime) -> ResolvedPrice | None:
        override = self._override_for(provider, model, at)
        if override is not None:
            return self._from_override(provider, model, override)
        return self._from_library(provider, model, at)

    def list_price(self, provider: str | None, model: str, day: date) -> ResolvedPrice | None:
        """The model's list price on `day`: where the price changes with the time of day (DeepSeek's off-peak hours),
        the one most of the day's hours pay, so the list price does not depend on the hour a pipeline runs. Calls are
        costed at their own time."""
        found = self._library_model(provider, model)
        return self.resolve(provider, model, _hour_of_the_usual_price(found[1] if found else None, day))

    def is_time_dependent(self, provider: str | None, model: str) -> bool:
        found = self._library_model(provider, model)
        return bool(found and not _is_plain_price(found[1].prices))

    def _override_for(self, provider: str | None, model: str, at: datetime) -> PriceOverride | None:
        return _matching(self.overrides, provider, model, at)

    def _from_override(self, provider: str | None, model: str, entry: PriceOverride) -> ResolvedPrice:
        cache_write = entry.cache_write_mtok if entry.cache_write_mtok is not None else entry.input_mtok
        components = {
            "input": ComponentPrice(entry.input_mtok),
            "output": ComponentPrice(entry.output_mtok),
            "cache_read": ComponentPrice(
                entry.cache_read_mtok if entry.cache_read_mtok is not None else entry.input_mtok
            ),
            "cache_write_5m": ComponentPrice(cache_write),
            "cache_write_1h": ComponentPrice(
                entry.cache_write_1h_mtok if entry.cache_write_1h_mtok is not None else cache_write
            ),
        }
        return ResolvedPrice(
            provider=provider or "",
            model=model,
            matched_model=entry.model,
            source=f"override:{self.overrides_name}",
            version=self.overrides_digest,
            components=components,
        )

    def _library_model(self, provider: str | None, model: str):
        # The library's snapshot does not change while a catalog lives: look each (provider, model) up once (a
        # batch asks for each model several times; the search walks every provider's model list).
        key = (provider, model)
        if key not in self._library_models:
            self._library_models[key] = self._find_library_model(provider, model)
        return self._library_models[key]

    def _find_library_model(self, provider: str | None, model: str):
        from genai_prices import data_snapshot

        snapshot = data_snapshot.get_snapshot()
        for provider_id in ([provider] if provider else []) + [None]:
            try:
                return snapshot.find_provider_model(model, None, provider_id, None)
            except LookupError:
                continue
        return None

    def _from_library(self, provider: str | None, model: str, at: datetime) -> ResolvedPrice | None:
        found = self._library_model(provider, model)
        if found is None:
            return None
        library_provider, model_info = found
        prices = model_info.get_prices(at if at.tzinfo else at.replace(tzinfo=UTC))
        input_price = _component(getattr(prices, "input_mtok", None))
        output_price = _component(getattr(prices, "output_mtok", None))
        if input_price is None or output_price is None:
            return None
        cache_write = _component(getattr(prices, "cache_write_mtok", None)) or input_price
        components = {
            "input": input_price,
            "output": output_price,
            "cache_read": _component(getattr(prices, "cache_read_mtok", None)) or input_price,
            "cache_write_5m": _component(getattr(prices, "cache_write_5m_mtok", None)) or cache_write,
            "cache_write_1h": _component(getattr(prices, "cache_write_1h_mtok", None)) or cache_write,
        }
        return ResolvedPrice(
            provider=library_provider.id,
            model=model,
            matched_model=model_info.id,
            source="genai-prices",
            version=self.library_version,
            components=components,
            time_dependent=not _is_plain_price(model_info.prices),
        )


def _names(entry: PriceOverride, provider: str | None, model: str) -> bool:
    return fnmatch.fnmatchcase(model.lower(), entry.model.lower()) and entry.provider in (None, provider)


def _matching(entries: list[PriceOverride], provider: str | None, model: str, at: datetime) -> PriceOverride | None:
    matches = [
        entry
        for entry in entries
        if _names(entry, provider, model) and (entry.valid_from is None or at.date() >= entry.valid_from)
    ]
    # The most recent valid_from wins; among equals, the later entry in the list.
    return max(matches, key=lambda entry: entry.valid_from or date.min) if matches else None


def _digest(entries: list[PriceOverride]) -> str:
    """A short fingerprint of a price list (price_version of the rows it costed: a change reprices them)."""
    text = json.dumps([entry.model_dump(mode="json") for entry in entries], sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _hour_of_the_usual_price(model_info, day: date) -> datetime:
    """The first hour of `day` (UTC, naive) that pays the price most of the day's hours pay (the library's own
    time-of-day rules decide each hour's price)."""
    hours = [datetime.combine(day, time(hour)) for hour in range(24)]
    if model_info is None or _is_plain_price(model_info.prices):
        return hours[0]
    prices = [model_info.get_prices(at.replace(tzinfo=UTC)) for at in hours]
    usual = max(prices, key=lambda price: sum(other is price for other in prices))
    return hours[next(index for index, price in enumerate(prices) if price is usual)]


def _is_plain_price(prices) -> bool:
    from genai_prices.types import ModelPrice

    return isinstance(prices, ModelPrice) or (
        isinstance(prices, list) and len(prices) == 1 and prices[0].constraint is None
    )


def _component(price) -> ComponentPrice | None:
    from genai_prices.types import TieredPrices

    if price is None:
        return None
    if isinstance(price, TieredPrices):
        return ComponentPrice(price.base, tuple((tier.start, tier.price) for tier in price.tiers))
    return ComponentPrice(Decimal(price))
