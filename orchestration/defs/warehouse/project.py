"""The dbt project as Dagster sees it: its manifest is parsed on load when missing or older than the models."""

from pathlib import Path

from aioa.settings import Settings
from aioa.warehouse.dbt.runner import DBT_PROJECT_DIR, run_dbt, target_path


def _newest_source_change() -> float:
    files = [*DBT_PROJECT_DIR.rglob("*.sql"), *DBT_PROJECT_DIR.rglob("*.yml")]
    return max(path.stat().st_mtime for path in files if "target" not in path.parts)


def ensure_manifest(settings: Settings) -> Path:
    manifest = target_path(settings) / "manifest.json"
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_change():
        result = run_dbt(settings, "parse")
        if not result.ok:
            raise RuntimeError(f"dbt parse failed; fix the dbt project first:\n{result.log_tail}")
    return manifest
