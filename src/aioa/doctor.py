"""`aioa doctor`: checks the environment and the warehouse, and says what to fix."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from importlib.metadata import version

import duckdb

from aioa.attribution import AttributionConfig, load_attribution
from aioa.pricing.catalog import load_overrides
from aioa.settings import Settings
from aioa.warehouse.snapshots import NoSnapshotError, open_snapshot


@dataclass
class Check:
    name: str
    status: str  # ok, warn, error
    detail: str
    fix: str = ""


def run_checks(settings: Settings) -> tuple[list[Check], list[dict]]:
    """Returns the checks and the list of models without a price."""
    checks: list[Check] = []
    unpriced: list[dict] = []
    checks.append(
        Check(
            "python",
            "ok" if sys.version_info[:2] == (3, 11) else "warn",
            sys.version.split()[0],
            "use Python 3.11 (`make test` creates the right environment)",
        )
    )
    home = settings.home
    if home.exists() and os.access(home, os.W_OK) or not home.exists() and os.access(home.parent, os.W_OK):
        checks.append(Check("AIOA_HOME", "ok", str(home)))
    else:
        checks.append(Check("AIOA_HOME", "error", f"{home} is not writable", "set AIOA_HOME to a writable folder"))
    checks.append(Check("price library", "ok", f"genai-prices {version('genai-prices')}"))
    checks += _config_checks(settings)
    checks += _source_checks(settings)
    checks += _pipeline_checks(settings)
    if not settings.warehouse_path.exists():
        checks.append(
            Check(
                "warehouse",
                "warn",
                "no warehouse yet",
                "run `aioa generate` then `aioa ingest sample`, or `aioa ingest claude-code`",
            )
        )
        return checks, unpriced
    try:
        connection, snapshot_version = open_snapshot(settings)
        checks.append(Check("snapshot", "ok", f"published snapshot {snapshot_version}"))
    except NoSnapshotError as error:
        checks.append(Check("snapshot", "warn", str(error), "run an ingest; it publishes a read snapshot"))
        return checks, unpriced
    with connection:
        checks += _ingested_checks(connection)
        checks += _warehouse_checks(connection)
        checks += _quality_checks(connection)
        unpriced = _unpriced_models(connection)
    if unpriced:
        names = ", ".join(f"{entry['model']} ({entry['calls']} calls)" for entry in unpriced)
        checks.append(
            Check(
                "prices",
                "warn",
                f"models without a price: {names}",
                "add them to the price override file (AIOA_PRICE_OVERRIDES_FILE or "
                "<AIOA_HOME>/price-overrides.yaml); the next ingest re-prices them",
            )
        )
    else:
        checks.append(Check("prices", "ok", "every model has a price"))
    return checks, unpriced


def _config_checks(settings: Settings) -> list[Check]:
    checks = []
    try:
        config = load_attribution(settings.resolved_attribution_file, settings.default_org)
        where = settings.resolved_attribution_file or "none (all usage goes to the default org)"
        checks.append(
            Check(
                "attribution",
                "ok",
                f"{where}: {len(config.orgs)} orgs, {len(config.users)} users, {len(config.projects)} projects",
            )
        )
        checks.append(
            Check(
                "default org",
                "ok",
                f"usage that no rule of the attribution file assigns (no bound source folder, known user or known "
                f"project) is billed to the org {config.default_org!r}"
                + (
                    f" (AIOA_DEFAULT_ORG={settings.default_org})"
                    if config.default_org == settings.default_org
                    else " (the attribution file's default_org)"
                ),
            )
        )
        checks += _trusted_source_checks(settings, config)
    except Exception as error:  # noqa: BLE001 - any parse or validation problem is reported, not raised
        checks.append(Check("attribution", "error", str(error)[:300], "fix the attribution YAML"))
    checks.append(_secret_keys_check(settings))
    checks.append(_warehouse_key_check(settings))
    try:
        overrides, _ = load_overrides(settings.resolved_price_overrides_file)
        checks.append(Check("price overrides", "ok", f"{len(overrides)} override(s)"))
    except Exception as error:  # noqa: BLE001
        checks.append(Check("price overrides", "error", str(error)[:300], "fix the price override YAML"))
    return checks


def _secret_keys_check(settings: Settings) -> Check:
    if settings.secret_keys is None:
        return Check(
            "secrets at rest",
            "warn",
            "AIOA_SECRET_KEYS is not set: signing keys and webhook secrets are stored in the clear",
            "set AIOA_SECRET_KEYS to a Fernet key and run `aioa secrets rotate` (docs/operations.md)",
        )
    count = len([key for key in settings.secret_keys.get_secret_value().split(",") if key.strip()])
    return Check("secrets at rest", "ok", f"identity store secrets encrypted ({count} key(s) configured)")


def _warehouse_key_check(settings: Settings) -> Check:
    if settings.warehouse != "duckdb":
        return Check("warehouse at rest", "ok", "server mode: the PostgreSQL server's storage encryption applies")
    from aioa.warehouse.encryption import WarehouseKeyError, is_encrypted, warehouse_key

    try:
        key = warehouse_key(settings)
    except WarehouseKeyError as error:
        return Check("warehouse at rest", "error", str(error), "fix AIOA_WAREHOUSE_KEY_FILE (docs/operations.md)")
    if key is None:
        return Check(
            "warehouse at rest",
            "warn",
            "AIOA_WAREHOUSE_KEY is not set: the DuckDB warehouse and its snapshots are stored in the clear",
            "set a key and run `aioa warehouse rekey --new-key-file FILE` first (docs/operations.md)",
        )
    if not settings.warehouse_path.exists():
        return Check("warehouse at rest", "ok", "a warehouse key is set: the warehouse will be written encrypted")
    if not is_encrypted(settings.warehouse_path):
        return Check(
            "warehouse at rest",
            "error",
            "a warehouse key is set but the warehouse file is not encrypted",
            "unset the key, run `aioa warehouse rekey --new-key-file FILE`, then set the key (docs/operations.md)",
        )
    return Check("warehouse at rest", "ok", "the DuckDB warehouse and its snapshots are encrypted (AES-GCM)")


def _trusted_source_checks(settings: Settings, config: AttributionConfig) -> list[Check]:
    """With several orgs, OTel and handoff logs whose location is not bound to an org are attributed by the names
    their lines hold: anyone who can write such a line can charge another org."""
    if len(config.orgs) < 2:
        return []
    configured = {"otel": settings.otel_paths, "handoff_log": settings.handoff_paths}
    unbound = []
    for system, paths in configured.items():
        patterns = [pattern for bound_system, pattern, _ in config.source_bindings() if bound_system == system]
        folders = [os.path.realpath(os.path.expanduser(part.strip())) for part in paths.split(",") if part.strip()]
        if not patterns or any(
            not config.bound_org(system, folder + "/x") and not any(p.startswith(folder + "/") for p in patterns)
            for folder in folders
        ):
            unbound.append(system)
    if not unbound:
        return [Check("trusted sources", "ok", "OTel and handoff log locations are bound to their orgs")]
    return [
        Check(
            "trusted sources",
            "warn",
            f"{', '.join(unbound)} logs are not bound to an org: their rows go to the org of the user or project "
            "a line names, so whoever can write a line can charge another org",
            "bind each org's log folders in the attribution YAML (`orgs[].sources: [{system: otel, paths: "
            "[...]}]`) to make attribution tamper-proof",
        )
    ]


def _warehouse_checks(connection: duckdb.DuckDBPyConnection) -> list[Check]:
    checks = []
    calls, orgs = connection.execute("select count(*), count(distinct org_id) from raw.llm_calls").fetchone()
    checks.append(
        Check(
            "warehouse",
            "ok" if calls else "warn",
            f"{calls} llm calls in {orgs} org(s)",
            "" if calls else "ingest some logs: `aioa ingest claude-code`",
        )
    )
    interrupted = connection.execute(
        "select count(*) from raw.ingest_runs where status = 'running' and finished_at is null"
    ).fetchone()[0]
    failed = connection.execute("select count(*) from raw.ingest_runs where status = 'failed'").fetchone()[0]
    if interrupted or failed:
        checks.append(
            Check(
                "ingest runs",
                "warn",
                f"{interrupted} interrupted, {failed} failed (their batches were rolled back)",
                "re-run the ingest: it resumes from the manifest",
            )
        )
    else:
        checks.append(Check("ingest runs", "ok", "no interrupted or failed runs"))
    rows = connection.execute(
        "select severity, split_part(reason, ':', 1) as family, count(*) from raw.quarantine group by all "
        "order by 3 desc"
    ).fetchall()
    if rows:
        detail = "; ".join(f"{count} {severity}: {family}" for severity, family, count in rows[:8])
        checks.append(Check("quarantine", "warn", detail, "inspect with `aioa quarantine`"))
    else:
        checks.append(Check("quarantine", "ok", "no quarantined input"))
    return checks


def _source_checks(settings: Settings) -> list[Check]:
    """Each registered source's configured paths (AIOA_<SOURCE>), not a guess at ~/.claude: missing paths warn."""
    from aioa.ingest.registry import SOURCES

    checks = []
    for entry in SOURCES:
        paths = entry.configured_paths(settings, defaults=False)
        variable = f"AIOA_{entry.settings_key.upper()}"
        if not paths:
            defaults = [path for path in entry.default_paths() if path.exists()]
            detail = f"{variable} not set" + (
                f"; `aioa run` reads the default {', '.join(map(str, defaults))}" if defaults else ""
            )
            checks.append(Check(f"source {entry.name}", "ok", detail))
            continue
        missing = [path for path in paths if not path.exists()]
        checks.append(
            Check(
                f"source {entry.name}",
                "warn" if missing else "ok",
                f"{variable}: {len(paths) - len(missing)} of {len(paths)} path(s) exist"
                + (f"; missing: {', '.join(map(str, missing[:5]))}" if missing else f" ({_short(paths)})"),
                f"fix {variable} (comma-separated paths) or create the folders",
            )
        )
    return checks


def _short(paths: list) -> str:
    text = ", ".join(map(str, paths[:3]))
    return text + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _ingested_checks(connection: duckdb.DuckDBPyConnection) -> list[Check]:
    """What each source has loaded so far, from the ingest runs in the published snapshot."""
    rows = connection.execute(
        "select source_system, count(*), sum(files_read), sum(rows_added), max(finished_at) "
        "from raw.ingest_runs where status = 'ok' group by all order by 1"
    ).fetchall()
    if not rows:
        return [Check("ingested", "warn", "no ingest run has finished", "run `aioa run` (or `aioa ingest <source>`)")]
    detail = "; ".join(
        f"{source}: {rows_added or 0:,} rows from {files or 0:,} files in {runs} run(s), last {str(last)[:16]}"
        for source, runs, files, rows_added, last in rows
    )
    return [Check("ingested", "ok", detail)]


def _pipeline_checks(settings: Settings) -> list[Check]:
    """The latest run, launched by `aioa run` or by Dagster (UI, sensor, schedule): both are in Dagster's storage."""
    from aioa.pipeline_runs import dagster_home, latest_run

    run = latest_run(settings)
    where = dagster_home(settings)
    if run is None:
        return [
            Check(
                "pipeline",
                "warn",
                "the pipeline has not run yet (no `aioa run` report, no run in Dagster's storage"
                + (f" at {where})" if where else ")"),
                "run `aioa run` (or `make demo` for the sample data), or materialise the job in `make dagster`",
            )
        ]
    if run.status == "failed":
        return [
            Check(
                "pipeline",
                "error",
                f"last run {run.describe()} failed at {run.failed_step or 'an unknown step'}: "
                f"{(run.message or '')[:400]}",
                "fix the cause and run `aioa run` again; readers keep the previous snapshot meanwhile",
            )
        ]
    status = "ok" if run.status in ("ok", "running", "queued") else "warn"
    snapshot = f", snapshot {run.snapshot_version}" if run.snapshot_version else ""
    return [
        Check(
            "pipeline",
            status,
            f"last run {run.describe()}{snapshot}; run id {run.run_id}",
            "run `aioa run` again" if status == "warn" else "",
        )
    ]


def _quality_checks(connection: duckdb.DuckDBPyConnection) -> list[Check]:
    exists = connection.execute(
        "select count(*) from information_schema.tables where table_schema = 'quality' and table_name = 'check_results'"
    ).fetchone()[0]
    if not exists:
        return [Check("quality checks", "warn", "no quality checks have run on this snapshot", "run `aioa run`")]
    failed = connection.execute(
        "select suite, severity, count(*) from quality.check_results where not success and check_run_id = "
        "(select max(check_run_id) from quality.check_results) group by all order by severity, suite"
    ).fetchall()
    if not failed:
        return [Check("quality checks", "ok", "every expectation suite passed")]
    detail = "; ".join(f"{suite} ({severity}, {count} expectation(s))" for suite, severity, count in failed)
    status = "error" if any(severity == "error" for _, severity, _ in failed) else "warn"
    return [Check("quality checks", status, detail, "see the Data quality page or quality.check_results")]


def _unpriced_models(connection: duckdb.DuckDBPyConnection) -> list[dict]:
    cursor = connection.execute(
        "select provider, model, count(*) as calls, sum(input_tokens + output_tokens) as tokens "
        "from raw.llm_calls where price_status = 'unpriced' group by all order by calls desc"
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
