"""Settings: the one place configuration is read (environment variables prefixed `AIOA_`, or a `.env` file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _default_home() -> Path:
    return PROJECT_ROOT / "data"


def _usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIOA_", env_file=".env", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="Folder that holds all state (AIOA_HOME).")
    attribution_file: Path | None = Field(
        default=None, description="Attribution YAML; default: <home>/attribution.yaml if it exists."
    )
    price_overrides_file: Path | None = Field(
        default=None, description="Price override YAML; default: <home>/price-overrides.yaml if it exists."
    )
    default_org: str = "default"
    batch_bytes: int = Field(
        default=48_000_000,
        description="Bytes of input per ingest transaction (a larger single file is a batch alone). Peak memory is "
        "a few times this: 48 MB keeps a 1 GB tree under 1 GB of RSS with the 1 GB DuckDB limit (DuckDB 1.5: "
        "884-886 MB; 64 MB peaked at 1,008-1,035 MB).",
    )
    batch_files: int = Field(default=5000, description="Files per ingest transaction at most.")
    max_line_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Longer log lines are quarantined, never read whole."
    )
    max_json_depth: int = Field(default=1000, ge=16, description="Log lines with JSON nested deeper are quarantined.")
    store_text: Literal["full", "redacted", "none"] = Field(
        default="full",
        description="Prompt and task text kept at ingest: full, redacted (length and hash only) or none (NULL).",
    )
    duckdb_memory_limit: str = "1GB"
    duckdb_threads: int | None = None
    warehouse_key: SecretStr | None = Field(
        default=None,
        description="Encrypts the DuckDB warehouse and its snapshots at rest (DuckDB's AES-GCM database encryption); "
        "unset: stored in the clear. Every process that reads or writes them needs it. Rotate with `aioa warehouse "
        "rekey` (docs/security.md).",
    )
    warehouse_key_file: Path | None = Field(
        default=None, description="A file holding the warehouse key (e.g. a mounted secret), instead of the key."
    )

    claude_code_dirs: str = Field(
        default="", description="Claude Code config dirs, comma-separated (default: CLAUDE_CONFIG_DIR, ~/.claude)."
    )
    handoff_paths: str = Field(default="", description="Handoff log files or folders, comma-separated.")
    otel_paths: str = Field(default="", description="OTLP/JSON export files or folders, comma-separated.")
    routing_outcome_paths: str = Field(
        default="", description="Routing-outcome CSVs (RouteLLM format), comma-separated."
    )
    dagster_executor: Literal["in_process", "multiprocess", "celery"] = Field(
        default="in_process",
        description="Dagster executor: one process (default), parallel processes, or Celery step workers "
        "(dagster-celery, on AIOA_CELERY_BROKER_URL).",
    )
    dbt_threads: int = Field(
        default_factory=lambda: min(_usable_cores(), 8),
        ge=1,
        description="dbt threads; its per-node work is Python under one lock, so more than the cores only adds "
        "contention (2 threads beat 4 on 2 cores).",
    )
    freshness_hours: int = Field(
        default=26, description="The ingest-freshness check warns when the last ingest is older."
    )

    warehouse: Literal["duckdb", "postgres"] = Field(
        default="duckdb",
        description="Where the warehouse lives: embedded DuckDB (default) or PostgreSQL (server mode).",
    )
    postgres_dsn: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/test", description="PostgreSQL connection URL (server mode)."
    )
    postgres_schema_prefix: str = Field(
        default="",
        pattern=r"^([A-Za-z_][A-Za-z0-9_]*)?$",  # pasted into schema names: a plain identifier only
        description="Prefix for the raw/staging/marts schemas in PostgreSQL.",
    )
    postgres_reader_work_mem: str = Field(
        default="64MB",
        pattern=r"^[0-9]+(kB|MB|GB)$",  # passed to the server as a session setting: a size only
        description="work_mem of each server-mode read connection (sorts and hashes per query node).",
    )

    mlflow_tracking_uri: str | None = Field(
        default=None, description="MLflow tracking URI; default: SQLite at <home>/mlflow/mlflow.db."
    )
    routing_model_name: str = Field(default="aioa-router", description="Registered MLflow model name of the router.")
    routing_exploration_rate: float = Field(
        default=0.05, ge=0.0, le=0.5, description="Share of logged routing decisions that explore the other model."
    )
    routing_retrain_min_feedback: int = Field(
        default=500, ge=1, description="New verified handoff outcomes that make the sensor request retraining."
    )
    provider_rate_limits: dict[str, dict[str, int]] = Field(
        default_factory=lambda: {"*": {"requests_per_minute": 50, "tokens_per_minute": 40_000}},
        description="Rate limits per provider that capacity planning (`aioa capacity`) forecasts against: "
        '`{"anthropic": {"requests_per_minute": 4000, "tokens_per_minute": 400000}}` (JSON in the environment); '
        'keys are a provider, "<org_id>/<provider>" for one org, or "*" for any other; tokens = input + output + '
        "cache writes per minute. The default is an illustrative entry tier: set your accounts' limits.",
    )

    llm_provider: Literal["none", "openai", "anthropic", "deepseek", "ollama"] = Field(
        default="none", description="LLM for natural-language questions; `none` uses the offline parser."
    )
    llm_model: str | None = None
    llm_base_url: str | None = Field(default=None, description="Base URL for OpenAI-compatible or Ollama servers.")
    llm_api_key: SecretStr | None = None
    ask_row_limit: int = 1000
    ask_question_max_chars: int = Field(default=2000, ge=1, description="Longest question the ask path accepts.")
    reader_statement_timeout_s: float = Field(
        default=30.0, gt=0, description="Seconds a query on a read connection (app, API, questions) may run."
    )
    dashboard_refresh_s: int = Field(
        default=30,
        ge=0,
        description="Seconds between an open dashboard page's checks for a newly published snapshot (0: no live "
        "refresh). A check reads the snapshot pointer only; the page's data is re-read when the snapshot changed.",
    )

    # Identity, API and tenants (see docs/security.md).
    database_url: str | None = Field(
        default=None,
        description="Accounts, keys, settings and audit store (SQLAlchemy URL); default: SQLite at "
        "<home>/identity.db. Set a postgresql:// URL for server mode.",
    )
    auth: Literal["on", "off"] = Field(
        default="on",
        description="`off` serves without sign-in (every org, admin rights); allowed only on 127.0.0.1, with a banner.",
    )
    jwt_issuer: str = Field(default="aioa", description="`iss` of the access tokens this service signs.")
    jwt_audience: str = Field(default="aioa-api", description="`aud` of the access tokens this service signs.")
    access_token_ttl_s: int = Field(default=900, ge=30, description="Lifetime of an access token (seconds).")
    refresh_token_ttl_s: int = Field(
        default=14 * 24 * 3600, ge=300, description="Lifetime of a refresh token (seconds); each use rotates it."
    )
    app_session_ttl_s: int = Field(
        default=12 * 3600,
        ge=300,
        description="Lifetime of a dashboard sign-in (its HttpOnly session cookie), from sign-in; not extended by use.",
    )
    signin_max_failures: int = Field(default=5, ge=1, description="Failed sign-ins that lock an account.")
    signin_lockout_s: int = Field(default=900, ge=1, description="How long a locked account stays locked.")
    signin_per_minute_per_client: int = Field(
        default=30, ge=1, description="Sign-in attempts one client (ip) may make per minute, whatever the accounts."
    )
    redis_url: str | None = Field(
        default=None, description="Redis for shared rate limits and quotas (default: in-process token buckets)."
    )
    api_requests_per_minute_per_key: int = Field(default=600, ge=1, description="Token bucket per API key/user.")
    api_requests_per_minute_per_tenant: int = Field(default=3000, ge=1, description="Token bucket per org.")
    ingest_rows_per_day_per_tenant: int = Field(default=1_000_000, ge=1, description="API ingest quota per org.")
    oidc_issuer: str | None = Field(default=None, description="OpenID Connect issuer URL (enables single sign-on).")
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_redirect_uri: str | None = Field(
        default=None, description="Callback URL registered at the provider (default: <API base>/v1/auth/oidc/callback)."
    )
    oidc_org_claim: str = Field(default="org", description="Claim that names the user's org.")
    oidc_team_claim: str = Field(default="team", description="Claim that names the user's team.")
    oidc_role_claim: str = Field(default="role", description="Claim that names the role (admin, user or viewer).")
    oidc_groups_claim: str = Field(
        default="groups", description="Claim with group names mapped to org/team/role by <home>/oidc-groups.yaml."
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs short-lived sign-in cookies (pending single sign-on, the app's st.login cookie); default: "
        "a random key kept in <home>/session-secret. Set the same value on every API/app host.",
    )
    secret_keys: SecretStr | None = Field(
        default=None,
        description="Fernet keys, comma-separated, newest first, that encrypt the identity store's secrets (signing "
        "keys, webhook secrets); unset: stored in the clear. Rotate: new key in front, `aioa secrets rotate`, drop "
        "the old one.",
    )

    # Operations (docs/operations.md): tracing, logs, metrics port, scheduled backups.
    otel_exporter_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); unset: no tracing."
    )
    log_format: Literal["console", "json"] = Field(
        default="console", description="`json`: structured logs (structlog)."
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Prometheus metrics port of the pipeline/watcher process (unset: off).",
    )
    backup_dir: Path | None = Field(default=None, description="Where the scheduled backup writes (outside AIOA_HOME).")
    backup_keep_daily: int = Field(default=7, ge=1, description="Scheduled backups kept: the newest of each day.")
    backup_keep_weekly: int = Field(default=4, ge=0, description="… and the newest of each ISO week, beyond those.")
    celery_broker_url: str | None = Field(
        default=None,
        description="Background jobs (report rendering, notifications, MCP probes) on Celery workers: a Redis "
        "(redis://…) or RabbitMQ (amqp://…) URL. Unset: the work runs in the calling process.",
    )
    celery_queue: str = Field(default="aioa", description="The Celery queue aioa's jobs go to and its workers read.")
    celery_timeout_s: float = Field(default=120.0, gt=0, description="How long a caller waits for a job's outcome.")
    archive_url: str | None = Field(
        default=None,
        description="Where rows past a tenant's retention go as Hive-partitioned Parquet: a local folder or any "
        "fsspec URL (default: <home>/archive).",
    )

    # Rules, notifications and webhooks out (docs/automation.md).
    app_url: str = Field(default="http://127.0.0.1:8501", description="The app's address, for links in messages.")
    api_url: str = Field(
        default="http://127.0.0.1:8000", description="The API's address: acknowledge links, and the CLI's client calls."
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="An API key (`aioa keys create --scope route`): `aioa route predict` then asks the running API at "
        "AIOA_API_URL (milliseconds, models already loaded) instead of loading the models in a fresh process.",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for email notifications (none: no email).")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=True, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_from: str = Field(default="aioa@localhost", description="Sender address of notification emails.")
    webhook_max_attempts: int = Field(default=8, ge=1, description="Delivery attempts before the dead-letter list.")
    webhook_backoff_s: float = Field(
        default=30.0, gt=0, description="Delay before the first retry; doubles per attempt, with +-50% jitter."
    )
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="Seconds a receiver has to answer.")

    # MCP servers (see docs/mcp.md): where their configuration lives, and how they are probed.
    mcp_user_home: Path | None = Field(
        default=None, description="Home folder whose Claude Code/Desktop configs are read (default: the user's)."
    )
    mcp_project_dirs: str = Field(
        default="", description="Extra project folders whose .mcp.json and .claude/settings*.json are read."
    )
    mcp_desktop_config: Path | None = Field(
        default=None, description="Claude Desktop's claude_desktop_config.json (default: the OS's location)."
    )
    mcp_desktop_log_dir: Path | None = Field(
        default=None, description="Folder of Claude Desktop's mcp-server-*.log files (default: the OS's location)."
    )
    mcp_managed_config: Path | None = Field(
        default=None, description="Claude Code's managed-mcp.json (default: the OS's system location)."
    )
    mcp_probe_disabled: str = Field(default="", description="MCP servers never probed, comma-separated names.")
    mcp_probe_timeout_s: float = Field(default=15.0, gt=0, description="Seconds one MCP server probe may take.")
    mcp_probe_concurrency: int = Field(
        default=16,
        ge=1,
        description="MCP servers probed at the same time (starting stdio servers is CPU-bound: more than a few per "
        "core only makes every start slower, and each probe's deadline runs from its own start).",
    )
    mcp_status_url: str | None = Field(
        default=None, description="MCP status history store (SQLAlchemy URL); default: SQLite at <home>/mcp.db."
    )

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def resolved_archive_url(self) -> str:
        return self.archive_url or str(self.home / "archive")

    @property
    def identity_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'identity.db'}"

    @property
    def mlflow_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.home / 'mlflow' / 'mlflow.db'}"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.home / "mlflow" / "artifacts"

    @property
    def resolved_attribution_file(self) -> Path | None:
        return self.attribution_file or _existing(self.home / "attribution.yaml")

    @property
    def resolved_price_overrides_file(self) -> Path | None:
        return self.price_overrides_file or _existing(self.home / "price-overrides.yaml")


def _existing(path: Path) -> Path | None:
    return path if path.exists() else None


def get_settings() -> Settings:
    """Fresh settings from the environment (not cached: tests and tenants may differ per call)."""
    return Settings()


def claude_config_dirs() -> list[Path]:
    """Claude Code config dirs: `CLAUDE_CONFIG_DIR` (comma-separated), else ~/.claude and ~/.config/claude."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if configured:
        return [Path(part).expanduser() for part in configured.split(",") if part.strip()]
    home = Path.home()
    return [path for path in (home / ".claude", home / ".config" / "claude") if path.exists()]
