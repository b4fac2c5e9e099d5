"""`aioa backup DEST`, `aioa backup verify SRC`, `aioa restore SRC`: the operator's commands (heavy imports inside)."""

from __future__ import annotations

import json
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from typer.core import TyperGroup

if TYPE_CHECKING:
    import click  # an annotation only: Click itself costs ~15 ms at every start (Typer carries its own copy)

console = Console(stderr=True, soft_wrap=True)  # paths in messages stay whole for copy and paste
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


class _BackupGroup(TyperGroup):
    """`aioa backup DEST` is `aioa backup create DEST`; `aioa backup verify SRC` checks one."""

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["create", *args]
        return super().resolve_command(ctx, args)


backup_app = typer.Typer(
    cls=_BackupGroup,
    help="Consistent, checksummed backups of AIOA_HOME (`aioa backup DEST`, `aioa backup verify SRC`).",
    no_args_is_help=True,
)


def _settings():
    from aioa.settings import get_settings

    return get_settings()


def _print_json(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


@contextmanager
def _progress(what: str, disable: bool):
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=True, disable=disable) as progress:
        task = progress.add_task(what, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


@backup_app.command("create")
def backup_create(
    destination: Annotated[Path, typer.Argument(help="A new (or empty) folder, outside AIOA_HOME.")],
    as_json: JsonFlag = False,
) -> None:
    """Back up AIOA_HOME while the pipeline may run: the published warehouse snapshot, the SQLite stores (accounts
    and audit, MLflow, Dagster) through SQLite's online backup, settings files, keys and artifacts; SHA-256 each."""
    from aioa.ops.backup import BackupError, backup

    try:
        with _progress("backup", as_json) as on_progress:
            report = backup(_settings(), destination, on_progress=on_progress)
    except BackupError as error:
        console.print(f"[red]Backup failed:[/red] {error}")
        raise typer.Exit(1) from None
    if as_json:
        _print_json(report.to_dict())
        return
    console.print(
        f"[green]Backed up[/green] {report.files} files, {report.bytes / 1e6:,.1f} MB in {report.seconds:.1f} s to "
        f"{report.path} (warehouse snapshot {report.snapshot_version or 'none'}). Check it with "
        f"`aioa backup verify {report.path}`."
    )
    for name, reason in report.external.items():
        console.print(f"[yellow]Not included: {name}[/yellow] {reason}")


@backup_app.command("verify")
def backup_verify(
    source: Annotated[Path, typer.Argument(help="A folder `aioa backup` wrote.")],
    as_json: JsonFlag = False,
) -> None:
    """Recompute every file's SHA-256; exit 1 and name the damaged files if any differ."""
    from aioa.ops.backup import BackupError, verify

    try:
        with _progress("verify", as_json) as on_progress:
            report = verify(source, on_progress=on_progress)
    except BackupError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    if as_json:
        _print_json(report.to_dict())
    elif report.ok:
        console.print(
            f"[green]Intact:[/green] {report.files} files, {report.bytes / 1e6:,.1f} MB match their checksums"
        )
    else:
        console.print(f"[red]Damaged backup {report.path}:[/red]")
        for problem in report.problems:
            console.print(f"  {problem}")
        console.print("Do not restore from it; use another backup.")
    if not report.ok:
        raise typer.Exit(1)


def restore_command(
    source: Annotated[Path, typer.Argument(help="A folder `aioa backup` wrote.")],
    as_json: JsonFlag = False,
) -> None:
    """Restore a backup into an empty AIOA_HOME (and DAGSTER_HOME if the backup holds one); checksums are checked
    as it copies, and a damaged backup changes nothing."""
    from aioa.ops.backup import BackupError, restore

    settings = _settings()
    try:
        with _progress("restore", as_json) as on_progress:
            report = restore(source, settings, on_progress=on_progress)
    except BackupError as error:
        console.print(f"[red]Restore failed:[/red] {error}")
        raise typer.Exit(1) from None
    if as_json:
        _print_json(report.to_dict())
        return
    console.print(
        f"[green]Restored[/green] {report.files} files, {report.bytes / 1e6:,.1f} MB into {report.home} in "
        f"{report.seconds:.1f} s (snapshot {report.snapshot_version or 'none'}). Next: `aioa doctor`, then `aioa run` "
        "to read log lines written since the backup."
    )


metrics_app = typer.Typer(
    help="Pipeline and watcher metrics for Prometheus (ingest rows, quarantine, step durations, snapshot age, lag).",
    no_args_is_help=True,
)


@metrics_app.command("serve")
def metrics_serve(
    port: Annotated[int | None, typer.Option(help="Port (default AIOA_METRICS_PORT, else 9464).")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the pipeline metrics on http://HOST:PORT/metrics until stopped (a sidecar of the pipeline or watcher)."""
    import signal
    import threading

    from aioa.ops.metrics import start_metrics_server

    settings = _settings()
    chosen = start_metrics_server(settings, port or settings.metrics_port or 9464, host)
    console.print(f"Pipeline metrics on http://{host}:{chosen}/metrics (Ctrl-C or SIGTERM stops)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with suppress(KeyboardInterrupt):
        stop.wait()


@metrics_app.command("write")
def metrics_write(
    path: Annotated[Path, typer.Argument(help="A .prom file in node_exporter's textfile collector folder.")],
) -> None:
    """Write the pipeline metrics once as a Prometheus textfile (e.g. after each run, from cron or a Dagster hook)."""
    from aioa.ops.metrics import write_textfile

    write_textfile(_settings(), path)
    console.print(f"Wrote {path}")
