"""A home with the small sample ingested (three orgs plus unmapped usage, five months, errors and unpriced calls)
and its snapshot published; tests that write (identity store, a new ingest) work on a copy (`billing_home`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aioa.settings import Settings


@pytest.fixture(scope="session")
def ingested_sample_home(sample_dir: Path, tmp_path_factory) -> Path:
    from aioa.ingest.registry import BY_NAME
    from aioa.ingest.runner import ingest
    from aioa.pipeline import SourcePaths

    home = tmp_path_factory.mktemp("tenants") / "home"
    home.mkdir()
    shutil.copy(sample_dir / "attribution.yaml", home / "attribution.yaml")
    paths = SourcePaths.from_sample(sample_dir)
    for name in ("claude_code", "handoffs", "otel"):
        ingest(BY_NAME[name].source(), getattr(paths, name), Settings(home=home))
    return home


@pytest.fixture
def billing_home(ingested_sample_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private copy of the ingested home, set as AIOA_HOME."""
    home = tmp_path / "home"
    shutil.copytree(ingested_sample_home, home)
    monkeypatch.setenv("AIOA_HOME", str(home))
    for name in ("AIOA_ATTRIBUTION_FILE", "AIOA_PRICE_OVERRIDES_FILE", "AIOA_DATABASE_URL", "AIOA_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    return Settings(home=home)
