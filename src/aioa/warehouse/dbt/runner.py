"""Runs dbt on the working warehouse in a subprocess, configured from settings (never from the caller's shell)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from aioa.atomic_files import write_text_atomically
from aioa.settings import PROJECT_ROOT, Settings

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# The manifest Dagster builds its asset graph from: the project's structure, the same for every home and target.
MANIFEST_TARGET = DBT_PROJECT_DIR / "target"


@dataclass
class DbtResult:
    ok: bool
    command: list[str]
    seconds: float = 0.0
    failures: list[dict] = field(default_factory=list)  # {node, status, message}
    counts: dict[str, int] = field(default_factory=dict)
    log_tail: str = ""


def dbt_executable() -> str:
    """`aioa-dbt` (dbt without an unneeded import-time cost, see aioa/dbt_launcher.py), else plain dbt."""
    for name in ("aioa-dbt", "dbt"):
        candidate = Path(sys.executable).with_name(name)
        if candidate.exists():
            return str(candidate)
    return "dbt"


def target_path(settings: Settings) -> Path:
    return settings.home / "dbt" / settings.warehouse / "target"


def settings_file(settings: Settings) -> Path:
    """Where a pipeline run leaves its settings for `aioa-dbt --aioa-settings` (see aioa/dbt_launcher.py)."""
    return settings.home / "dbt" / "run-settings.json"


def write_settings_file(settings: Settings) -> Path:
    """The settings dbt needs, for the launcher; secrets are not written (the launcher reads them from AIOA_*)."""
    secret = {name for name, field in Settings.model_fields.items() if "Secret" in str(field.annotation)}
    return write_text_atomically(settings_file(settings), settings.model_dump_json(exclude=secret), private=True)


def prepare_manifest(settings: Settings) -> Path:
    """`dbt parse` into MANIFEST_TARGET when the manifest is missing or older than a model, test or YAML file."""
    manifest = MANIFEST_TARGET / "manifest.json"
    sources = [
        path
        for pattern in ("*.sql", "*.yml", "*.md")
        for path in DBT_PROJECT_DIR.rglob(pattern)
        if MANIFEST_TARGET not in path.parents and "dbt_packages" not in path.parts
    ]
    if manifest.exists() and manifest.stat().st_mtime >= max(path.stat().st_mtime for path in sources):
        return manifest
    env = dbt_env(settings) | {"DBT_TARGET_PATH": str(MANIFEST_TARGET)}
    completed = subprocess.run(
        [dbt_executable(), "parse"], cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout + completed.stderr).splitlines()[-40:])
        raise RuntimeError(f"dbt parse failed; fix the dbt project first:\n{tail}")
    return manifest


def run_failures(run_results: dict) -> list[dict]:
    """Every failed model or test of a run_results.json: {node, status, message}."""
    return [
        {"node": item["unique_id"], "status": item["status"], "message": (item.get("message") or "")[:500]}
        for item in run_results["results"]
        if item["status"] in ("error", "fail", "runtime error")
    ]


# What dbt gets from the caller's environment besides DBT_* and AIOA_* variables. A small environment is also a
# faster one: dbt scans every variable for DBT_ENV_SECRET_ values on each of its ~7,000 log events per build.
PASSED_VARIABLES = (
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
)


def dbt_env(settings: Settings) -> dict[str, str]:
    """Environment for dbt: which target, where the warehouse is, telemetry off, artifacts under AIOA_HOME."""
    env = {
        key: value for key, value in os.environ.items() if key in PASSED_VARIABLES or key.startswith(("DBT_", "AIOA_"))
    }
    env |= {
        "AIOA_DBT_TARGET": settings.warehouse,
        "AIOA_DBT_THREADS": str(settings.dbt_threads),
        "AIOA_DBT_DUCKDB_PATH": str(settings.warehouse_path),
        "AIOA_DBT_ARCHIVE_URL": settings.resolved_archive_url,  # read by aioa.archive.dbt_plugin
        "AIOA_DBT_SCHEMA_PREFIX": settings.postgres_schema_prefix if settings.warehouse == "postgres" else "",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "DBT_TARGET_PATH": str(target_path(settings)),
        "DBT_LOG_PATH": str(settings.home / "dbt" / "logs"),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
    }
    from aioa.warehouse.encryption import DBT_KEY_VARIABLE, warehouse_key

    key = warehouse_key(settings) if settings.warehouse == "duckdb" else None
    if key is not None:  # the encrypted target; dbt masks DBT_ENV_SECRET_* values in its output and logs
        env |= {"AIOA_DBT_TARGET": "duckdb_encrypted", DBT_KEY_VARIABLE: key}
    if settings.warehouse == "postgres":
        url = urlparse(settings.postgres_dsn)
        env |= {
            "AIOA_DBT_PG_HOST": url.hostname or "127.0.0.1",
            "AIOA_DBT_PG_PORT": str(url.port or 5432),
            "AIOA_DBT_PG_USER": url.username or "postgres",
            "AIOA_DBT_PG_PASSWORD": url.password or "",
            "AIOA_DBT_PG_DBNAME": (url.path or "/test").lstrip("/") or "test",
            "AIOA_DBT_PG_SCHEMA_PREFIX": settings.postgres_schema_prefix,
        }
    return env


def run_dbt(settings: Settings, *args: str) -> DbtResult:
    """`dbt <args>` on the settings' warehouse; the result lists every failed model or test with its message."""
    from aioa.archive.rekey import encrypt_plain_archive

    encrypt_plain_archive(settings)  # with a key: dbt reads the archive encrypted (a plain file from before the key)
    command = [dbt_executable(), *args]
    completed = subprocess.run(
        command, cwd=DBT_PROJECT_DIR, env=dbt_env(settings), capture_output=True, text=True, check=False
    )
    result = DbtResult(
        ok=completed.returncode == 0,
        command=command,
        log_tail="\n".join((completed.stdout + completed.stderr).splitlines()[-40:]),
    )
    results_file = target_path(settings) / "run_results.json"
    if results_file.exists() and args and args[0] in ("build", "run", "test", "seed"):
        run_results = json.loads(results_file.read_text())
        result.seconds = round(run_results.get("elapsed_time", 0.0), 2)
        for item in run_results["results"]:
            result.counts[item["status"]] = result.counts.get(item["status"], 0) + 1
        result.failures = run_failures(run_results)
    return result
