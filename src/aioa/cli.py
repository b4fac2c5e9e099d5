"""The `aioa` command line: generate sample data, ingest logs, report usage and cost, check the set-up."""

from __future__ import annotations

import gc
import json
import shutil
import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from aioa.privacy.cli import privacy_app
from aioa.reports.output import OutputFormat, chosen_format, print_rich_table
from aioa.tenants.cli import billing_app, tenant_app

app = typer.Typer(
    help="AI Orchestration Analytics: what your AI agents cost, where it went, what went wrong.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
ingest_app = typer.Typer(help="Load usage logs into the warehouse (incremental and idempotent).", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(billing_app, name="billing")
app.add_typer(tenant_app, name="tenant")
app.add_typer(privacy_app, name="privacy")


def _add_ml_commands() -> None:
    """The ML commands ship in `ml/` (installed with the package); their heavy imports run only when invoked."""
    from ml.anomalies.cli import anomalies_command
    from ml.capacity.cli import capacity_command
    from ml.forecasting.cli import forecast_command
    from ml.routing.cli import route_app

    app.add_typer(route_app, name="route")
    app.command("forecast")(forecast_command)
    app.command("anomalies")(anomalies_command)
    app.command("capacity")(capacity_command)


_add_ml_commands()


def _add_identity_commands() -> None:
    """`aioa users`, `aioa keys`, `aioa audit`: the identity store loads only inside a command."""
    from aioa.identity.cli import audit_app, keys_app, users_app

    app.add_typer(users_app, name="users")
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
    from aioa.identity.secrets_cli import secrets_app

    app.add_typer(secrets_app, name="secrets")


_add_identity_commands()


def _add_live_commands() -> None:
    """`aioa watch` and `aioa replay`: watchdog and uvicorn load only inside the command."""
    from aioa.live.cli import replay_command, watch_command

    app.command("watch")(watch_command)
    app.command("replay")(replay_command)


_add_live_commands()


def _add_rules_commands() -> None:
    """`aioa rules`, `aioa webhooks`: the rules engine and its store load only inside a command."""
    from aioa.rules.cli import rules_app, webhooks_app

    app.add_typer(rules_app, name="rules")
    app.add_typer(webhooks_app, name="webhooks")
    from aioa.collab.cli import annotate_app

    app.add_typer(annotate_app, name="annotate")


_add_rules_commands()


def _add_mcp_commands() -> None:
    """`aioa mcp`: the MCP SDK and the status store load only inside a command."""
    from aioa.mcp.cli import mcp_app

    app.add_typer(mcp_app, name="mcp")


_add_mcp_commands()


def _add_integrations_commands() -> None:
    """`aioa integrations`: pygit2, DuckDB and the HTTP clients load only inside a command."""
    from aioa.integrations.cli import integrations_app

    app.add_typer(integrations_app, name="integrations")


_add_integrations_commands()


def _add_ops_commands() -> None:
    """`aioa backup`, `aioa restore`: backup code loads only inside a command."""
    from aioa.ops.cli import backup_app, metrics_app, restore_command

    app.add_typer(backup_app, name="backup")
    app.command("restore")(restore_command)
    app.add_typer(metrics_app, name="metrics")


_add_ops_commands()


def _add_archive_commands() -> None:
    """`aioa archive run`: archival code loads only inside a command."""
    from aioa.archive.cli import archive_app

    app.add_typer(archive_app, name="archive")


_add_archive_commands()


def _add_warehouse_commands() -> None:
    """`aioa warehouse rekey`: DuckDB and the rekey code load only inside the command."""
    from aioa.ops.warehouse_cli import warehouse_app

    app.add_typer(warehouse_app, name="warehouse")


_add_warehouse_commands()
console = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format", help="table (rich in a terminal, plain in a pipe), json or csv; on stdout. Default: table."
    ),
]


def get_settings():
    """Settings, imported on use: pydantic-settings costs ~70 ms that `aioa --help` does not need."""
    from aioa.settings import get_settings as load

    return load()


def _print_json(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _run_ingest(name: str, paths: list[Path], as_json: bool) -> None:
    import duckdb
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    from aioa.ingest.registry import BY_NAME, MissingPathError, check_paths_exist
    from aioa.ingest.runner import ingest

    try:
        check_paths_exist(name, paths)
    except MissingPathError as error:
        console.print(f"[red]Not found:[/red] {', '.join(error.missing)}")
        raise typer.Exit(2) from None
    from aioa.warehouse.pandas_free import without_pandas

    source = BY_NAME[name].source()
    settings = get_settings()
    try:
        with (
            without_pandas("pyarrow.dataset"),
            Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
                disable=as_json,
            ) as progress,
        ):
            task = progress.add_task(f"ingest {source.name}", total=None)
            summary = ingest(
                source,
                paths,
                settings,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    except duckdb.IOException as error:
        console.print(
            f"[red]The warehouse is locked by another process[/red] ({error}).\n"
            "Another ingest or the pipeline is writing; wait for it to finish and retry."
        )
        raise typer.Exit(3) from error
    if as_json:
        _print_json(summary.to_dict())
        return
    table = Table(title=f"ingest {source.name} ({summary.seconds:.2f} s)", show_header=False)
    rows = [
        ("files (seen / read)", f"{summary.files_seen} / {summary.files_read}"),
        ("lines read", f"{summary.lines_read:,}"),
        *[(f"rows added: {name}", f"{count:,}") for name, count in summary.rows_added.items()],
        *[(f"rows updated: {name}", f"{count:,}") for name, count in summary.rows_updated.items() if count],
        ("duplicates skipped", f"{summary.duplicates_skipped:,}"),
        ("quarantined (rejected)", f"{summary.quarantined:,}"),
        ("flagged", f"{summary.flagged:,}"),
        ("calls without a price", f"{summary.unpriced:,}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    for reason, count in summary.quarantine_reasons.items():
        table.add_row(f"  {reason}", f"{count:,}")
    print_rich_table(table)  # the run's summary on stdout; progress and hints on stderr
    if summary.unpriced:
        console.print("[yellow]Some models have no price:[/yellow] run `aioa doctor` for the list.")


def _ingest_command(name: str):
    """`aioa ingest <cli name> PATHS…` for a source of the registry (no paths: the source's configured or default
    locations, e.g. CLAUDE_CONFIG_DIR, ~/.claude and ~/.config/claude for Claude Code)."""

    def command(
        paths: Annotated[
            list[Path] | None, typer.Argument(help="Folders or files (default: the configured paths).")
        ] = None,
        as_json: JsonFlag = False,
    ) -> None:
        from aioa.ingest.registry import BY_NAME

        entry = BY_NAME[name]
        targets = paths or entry.configured_paths(get_settings())
        if not targets:
            console.print(
                f"[red]No {name} paths given or configured.[/red] Pass a path or set AIOA_{entry.settings_key.upper()}."
            )
            raise typer.Exit(2)
        _run_ingest(name, targets, as_json)

    return command


def _add_ingest_commands() -> None:
    from aioa.ingest.registry import SOURCES

    for entry in SOURCES:
        ingest_app.command(entry.cli_name, help=entry.description)(_ingest_command(entry.name))


_add_ingest_commands()


@ingest_app.command("sample")
def ingest_sample(
    root: Annotated[Path | None, typer.Argument(help="Generated dataset (default <AIOA_HOME>/sample).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Everything `aioa generate` wrote: Claude Code, handoffs and OTel."""
    root = root or get_settings().home / "sample"
    if not root.exists():
        console.print(f"[red]{root} does not exist.[/red] Run `aioa generate` first.")
        raise typer.Exit(2)
    from aioa.pipeline import SourcePaths

    sources = SourcePaths.from_sample(root)
    for name in ("claude_code", "handoffs", "otel"):
        _run_ingest(name, getattr(sources, name), as_json)


@app.command()
def generate(
    size: Annotated[str, typer.Option(help="small (seconds) or large (10M+ calls, for benchmarks).")] = "small",
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 42,
    out: Annotated[Path | None, typer.Option(help="Output folder (default <AIOA_HOME>/sample).")] = None,
    anomalies: Annotated[
        bool, typer.Option("--anomalies/--no-anomalies", help="Inject labelled anomalies (drawn per seed).")
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Generate a realistic, deterministic sample dataset with known truths and labelled anomalies."""
    from rich.progress import Progress

    from aioa.generate import generate as run_generator

    settings = get_settings()
    out = out or settings.home / "sample"
    with Progress(console=console, transient=True, disable=as_json) as progress:
        task = progress.add_task("generate", total=None)
        summary = run_generator(
            out,
            size=size,
            seed=seed,
            with_anomalies=anomalies,
            progress=lambda what, done, total: progress.update(
                task, description=f"generate {what}", completed=done, total=total
            ),
        )
    attribution = settings.home / "attribution.yaml"
    if not attribution.exists() and (out / "attribution.yaml").exists():
        shutil.copyfile(out / "attribution.yaml", attribution)
        console.print(f"Attribution config installed at {attribution}")
    if as_json:
        _print_json(summary)
    else:
        console.print(f"[green]Generated[/green] {size} sample (seed {seed}) in {out}")


@contextmanager
def _pipeline_progress(disable: bool):
    """A live display of the run's steps, fed by its Dagster events: the running step, then one line per step."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    marks = {"ok": "[green]✓[/green]", "failed": "[red]✗[/red]", "skipped": "[dim]–[/dim]"}
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=disable,
    ) as progress:
        task = progress.add_task("starting the Dagster job", total=None)

        def on_event(event) -> None:
            if event.kind == "started":
                progress.update(task, description=f"{event.step} …")
                if not disable and not console.is_terminal:  # no spinner in a pipe or a log: say what runs now
                    progress.console.print(f"  {event.step} …")
            elif not disable:
                timing = f" {event.seconds:.2f} s" if event.seconds is not None else ""
                progress.console.print(f"{marks[event.kind]} {event.step}{timing}")

        yield on_event


@app.command("run")
def run_pipeline_command(
    sample: Annotated[
        Path | None,
        typer.Option(
            "--sample", help="Read a generated dataset (e.g. <AIOA_HOME>/sample) instead of the configured log paths."
        ),
    ] = None,
    full_refresh: Annotated[bool, typer.Option(help="Rebuild every incremental mart from scratch.")] = False,
    ml: Annotated[
        bool,
        typer.Option(
            "--ml/--no-ml", help="Also train and run the ML assets (forecasts, anomalies, router) before publishing."
        ),
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """The whole pipeline, as the Dagster job: ingest every source, build and test the marts (dbt), check them, run
    the ML assets, publish one snapshot."""
    from aioa.pipeline import PipelineError, SourcePaths, run_pipeline

    settings = get_settings()
    if sample is not None and not sample.exists():
        console.print(f"[red]{sample} does not exist.[/red] Run `aioa generate` first.")
        raise typer.Exit(2)
    sources = SourcePaths.from_sample(sample) if sample else SourcePaths.from_settings(settings)
    try:
        with _pipeline_progress(disable=as_json) as on_event:
            report = run_pipeline(settings, sources, full_refresh=full_refresh, include_ml=ml, on_event=on_event)
    except PipelineError as error:
        console.print(
            f"[red]{error.step} failed.[/red] {error.message[:2000]}\n"
            "The previous snapshot stays readable. Fix the cause and run `aioa run` again; "
            "`aioa doctor` shows this failure too."
        )
        raise typer.Exit(1) from None
    if as_json:
        _print_json(report.to_dict())
        return
    table = Table(title=f"pipeline {report.status} (snapshot {report.snapshot_version or 'n/a'})")
    for column in ("step", "status", "seconds", "details"):
        table.add_column(column)
    for step in report.steps:
        table.add_row(
            step["step"],
            step["status"],
            f"{step['seconds']:.2f}",
            json.dumps(step.get("details", {}), default=str)[:90],
        )
    print_rich_table(table)


@app.command("ask")
def ask_command(
    question: Annotated[str, typer.Argument(help="A question in plain English, e.g. 'top 5 projects by spend'.")],
    as_json: JsonFlag = False,
    org: Annotated[list[str] | None, typer.Option(help="Answer only from these orgs (repeatable).")] = None,
) -> None:
    """Answer a question from the marts: the SQL, the rows and the answer, or the reason it was refused."""
    from aioa.ask import ask
    from aioa.warehouse.access import TenantScope

    result = ask(question, TenantScope.for_orgs(*org) if org else TenantScope.all_orgs())
    if as_json:
        _print_json(result.to_dict())
    elif result.answered:  # the answer on stdout (`aioa ask … > answer.txt`); a refusal's reason on stderr
        from aioa.formatting import readable_frame
        from aioa.reports.output import stdout_console

        out = stdout_console()
        if result.sql:
            out.print(f"[dim]{result.sql}[/dim]")
        for name, value in result.parameter_words().items():  # the values behind the SQL's $names
            out.print(f"[dim]${name} = {value}[/dim]")
        out.print(result.answer)
        shown = readable_frame(result.rows.head(50))  # $, thousands, %, dates without a midnight time
        table = Table()
        for column in shown.columns:
            table.add_column(str(column))
        for row in shown.itertuples(index=False):
            table.add_row(*row)
        print_rich_table(table)
    else:
        console.print(f"[{'red' if result.refused else 'yellow'}]{result.reason}[/]")
    if result.refused:
        raise typer.Exit(3)
    if not result.answered:
        raise typer.Exit(4)


class _ReportGroup(TyperGroup):
    """`aioa report KIND` (usage tables on stdout) beside `aioa report render TEMPLATE` (report files): a first word
    that names no subcommand is the KIND of `aioa report usage`."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands:
            args = ["usage", *args]
        return super().resolve_command(ctx, args)


report_app = typer.Typer(
    cls=_ReportGroup,
    no_args_is_help=True,
    context_settings={"ignore_unknown_options": True},  # `aioa report --json daily`: the options are usage's
    help="Usage tables (`aioa report daily|monthly|session|project|model`) and report files "
    "(`aioa report render TEMPLATE --format pdf --out FILE`).",
)
app.add_typer(report_app, name="report")


def _add_report_render_command() -> None:
    """`aioa report render` and `aioa report templates`: templates, charts and formats load only inside them."""
    from aioa.reports.render.cli import render_command, templates_command

    report_app.command("render")(render_command)
    report_app.command("templates")(templates_command)


_add_report_render_command()


def _add_recommendations_command() -> None:
    """`aioa recommendations`: the engine and its models load only inside the command."""
    from aioa.recommendations.cli import recommendations_command

    app.command("recommendations")(recommendations_command)


_add_recommendations_command()


@report_app.command("usage")
def report(
    kind: Annotated[str, typer.Argument(help="daily, monthly, session, project or model")],
    as_json: JsonFlag = False,
    timezone: Annotated[str, typer.Option(help="Time zone for days and months.")] = "UTC",
    since: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD), inclusive.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), inclusive.")] = None,
    org: Annotated[list[str] | None, typer.Option(help="Only these orgs (repeatable).")] = None,
    output_format: FormatOption = None,
) -> None:
    """Tokens and cost per day, month, session, project or model, with a per-model breakdown and a totals row (a
    table on stdout; `--format json|csv` for scripts, `--json` = `--format json`)."""
    from aioa.reports import REPORT_KINDS, usage_report
    from aioa.warehouse.access import TenantScope

    if kind not in REPORT_KINDS:
        console.print(f"[red]Unknown report {kind!r}.[/red] Choose one of: {', '.join(REPORT_KINDS)}.")
        raise typer.Exit(2)
    from aioa.warehouse.connection import statement_timeout
    from aioa.warehouse.pandas_free import without_pandas
    from aioa.warehouse.snapshots import NoSnapshotError, open_snapshot

    scope = TenantScope.for_orgs(*org) if org else TenantScope.all_orgs()
    settings = get_settings()
    try:
        connection, _ = open_snapshot(settings)
    except NoSnapshotError:
        console.print(
            "[red]No data yet.[/red] Run `aioa ingest claude-code` (or `aioa generate` and `aioa ingest sample`) first."
        )
        raise typer.Exit(2) from None
    with connection, without_pandas(), statement_timeout(connection, settings.reader_statement_timeout_s):
        rows = usage_report(
            connection, kind, scope=scope, timezone=timezone, since=_parse_day(since), until=_parse_day(until)
        )
        from aioa.archive.snapshot import archived_ranges

        archived = [
            (org_id, last_day, count)
            for org_id, first_day, last_day, count in archived_ranges(connection, scope, "raw.llm_calls")
            if (since is None or last_day >= _parse_day(since)) and (until is None or first_day <= _parse_day(until))
        ]
    from aioa.reports.output import emit
    from aioa.reports.usage import report_fields

    emit(
        rows,
        report_fields(kind),
        chosen_format(output_format, as_json),
        title=f"{kind} usage" + (f" ({timezone})" if timezone != "UTC" else ""),
    )
    if not as_json and output_format in (None, "table") and any(row["unpriced_calls"] for row in rows):
        console.print("* includes calls to models without a price (not costed); see `aioa doctor`.")
    if not as_json and output_format in (None, "table"):
        for org_id, last_day, count in archived:
            console.print(
                f"* calls of {org_id} up to {last_day} ({count:,}) come from the archive (Parquet, by retention)."
            )


def _without(row: dict, key: str) -> dict:
    return {name: value for name, value in row.items() if name != key}


def _parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-24") from error


@app.command()
def doctor(
    as_json: JsonFlag = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too, not only on errors.")] = False,
    output_format: FormatOption = None,
) -> None:
    """Check the environment, the configured sources, the last pipeline run (`aioa run` or Dagster), the warehouse,
    prices and configs; say what to fix. Exit 1 on an error (with --strict: on a warning too)."""
    from aioa.doctor import run_checks
    from aioa.reports.output import Field, emit

    checks, unpriced = run_checks(get_settings())
    chosen = chosen_format(output_format, as_json)
    colours = {"ok": "green", "warn": "yellow", "error": "red"}
    terminal = sys.stdout.isatty()
    rows = [
        {
            "check": check.name,
            "status": f"[{colours[check.status]}]{check.status}[/]" if terminal else check.status,
            "detail": check.detail,
            "fix": "" if check.status == "ok" else check.fix,
        }
        for check in checks
    ]
    emit(
        [check.__dict__ for check in checks] if chosen != "table" else rows,
        [Field(name, name, align="left") for name in ("check", "status", "detail", "fix")]
        if chosen == "table"
        else [Field(name, name) for name in ("name", "status", "detail", "fix")],
        chosen,
        title="aioa doctor",
        payload={"checks": [check.__dict__ for check in checks], "unpriced_models": unpriced, **_operations(chosen)},
    )
    if any(check.status == "error" for check in checks) or (strict and any(c.status == "warn" for c in checks)):
        raise typer.Exit(1)


def _operations(chosen: str) -> dict:
    """`doctor --json`: component status and SLOs with the error budget left (aioa.ops.slo)."""
    from aioa.ops.slo import operations_status

    return operations_status(get_settings()) if chosen == "json" else {}


@app.command()
def quarantine(
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
    org: Annotated[
        list[str] | None,
        typer.Option(
            help="Only these orgs' lines (repeatable); without it, every line, including those whose org is unknown."
        ),
    ] = None,
    as_json: JsonFlag = False,
    output_format: FormatOption = None,
) -> None:
    """List quarantined (rejected) and flagged input with org, file, line and reason."""
    from aioa.analytics import quarantined_input
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.connection import statement_timeout
    from aioa.warehouse.snapshots import open_snapshot

    scope = TenantScope.for_orgs(*org) if org else TenantScope.all_orgs()
    settings = get_settings()
    connection, _ = open_snapshot(settings)
    with connection, statement_timeout(connection, settings.reader_statement_timeout_s):
        frame = quarantined_input(connection, scope, limit)
    rows = [
        {name: row[name] for name in ("org_id", "severity", "reason", "source_file", "source_line", "raw_excerpt")}
        for row in frame.astype(object).where(frame.notna(), None).to_dict("records")
    ]
    from aioa.reports.output import Field, emit

    fields = [
        Field("org_id", "org", lambda value: value or "(unknown)", align="left"),
        Field("severity", "severity", align="left"),
        Field("reason", "reason", align="left"),
        Field("where", "file:line", align="left"),
    ]
    for row in rows:
        row["where"] = f"{row['source_file']}:{row['source_line']}"
    chosen = chosen_format(output_format, as_json)
    if chosen == "csv":
        fields = [Field(name, name) for name in ("org_id", "severity", "reason", "source_file", "source_line")]
    emit(rows, fields, chosen, title="quarantine", payload=[_without(row, "where") for row in rows], totals=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (AIOA_AUTH=off: loopback only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Worker processes (one per core; rate limits are shared only with AIOA_REDIS_URL set)."
        ),
    ] = 1,
) -> None:
    """The REST API (FastAPI on uvicorn): reports, KPIs, questions, routing and ingest; OpenAPI at /docs."""
    import ipaddress

    settings = get_settings()
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if settings.auth == "off" and not loopback:
        console.print(
            f"[red]AIOA_AUTH=off serves without sign-in, so only on 127.0.0.1, not {host}.[/red] "
            "Turn authentication on (unset AIOA_AUTH) to listen on other addresses."
        )
        raise typer.Exit(2)
    import uvicorn

    # A worker imports the app (~2 s idle, far more on a busy machine) before it answers the supervisor's health
    # check; uvicorn's default 5 s kills and restarts it for ever there.
    uvicorn.run(
        "apps.api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=120,
    )


def main() -> None:
    """The `aioa` entry point: a failure prints what happened and what to do next, never a traceback."""
    from aioa.lazy_cli import lazy_group

    try:
        lazy_group(app)()  # `app()`, with only the invoked subcommand built
    except Exception as error:  # noqa: BLE001 - the last line of defence; details go to the error log
        from aioa.errors import error_log_path, report_error

        problem = report_error(error, where="cli " + " ".join(sys.argv[1:3]))
        console.print(
            f"[red]{problem.message}[/red] {problem.next_step}\n"
            f"[dim]Details are in {error_log_path()} under reference {problem.reference}.[/dim]"
        )
        raise SystemExit(problem.exit_code) from None
    finally:
        # The process ends here: CPython would free the objects of every module loaded one by one (~40 ms of a
        # 0.4 s report); frozen, they are left to the OS. Files and connections are closed by the commands.
        gc.freeze()


if __name__ == "__main__":
    main()
