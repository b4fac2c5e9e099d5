"""`aioa watch` (live ingest and the OTLP receiver) and `aioa replay` (rebuild raw rows from the kept files)."""

from __future__ import annotations

import json
import signal
import threading
from datetime import date
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)


def watch_command(
    publish_interval: Annotated[
        float, typer.Option(help="Publish a snapshot at most once per this many seconds.", min=0.5)
    ] = 4.0,
    rebuild_minutes: Annotated[
        float, typer.Option(help="Also rebuild the marts (the pipeline without ML) every N minutes; 0: never.", min=0)
    ] = 15.0,
    otlp_port: Annotated[int, typer.Option(help="OTLP/HTTP receiver port (API key required); 0: no receiver.")] = 4318,
    otlp_host: Annotated[str, typer.Option(help="Address the receiver listens on.")] = "127.0.0.1",
    seconds: Annotated[float, typer.Option("--for", help="Stop after this many seconds (0: until Ctrl-C).")] = 0,
) -> None:
    """Follow the configured log folders and the API inbox; new lines are ingested and published within seconds."""
    from aioa.live.watch import Watcher
    from aioa.settings import get_settings

    settings = get_settings()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    def on_batch(source: str, summary) -> None:
        added = sum(summary.rows_added.values())
        if added or summary.quarantined:
            console.print(f"[green]+{added:,}[/green] rows from {source} ({summary.quarantined} quarantined)")

    watcher = Watcher(settings, publish_interval_s=publish_interval, rebuild_s=rebuild_minutes * 60, on_batch=on_batch)
    server = _start_receiver(settings, otlp_host, otlp_port) if otlp_port else None
    watcher.start()
    for source, paths in watcher.paths().items():
        if paths:
            console.print(f"watching {source}: {', '.join(str(path) for path in paths)}")
    if server:
        console.print(f"OTLP/HTTP receiver on http://{otlp_host}:{otlp_port} (/v1/traces, /v1/logs, /v1/metrics)")
    if seconds:
        threading.Timer(seconds, stop.set).start()
    try:
        stats = watcher.run(stop)
    finally:
        watcher.close()
        if server:
            server.should_exit = True
    console.print(
        f"stopped: {stats.rows:,} rows in {stats.batches} batches, {stats.publishes} snapshots published"
        + (f", {len(stats.errors)} errors (first: {stats.errors[0]})" if stats.errors else "")
    )


def _start_receiver(settings, host: str, port: int):
    """The API app (its OTLP routes, auth and audit) on the receiver port, in a background thread."""
    import uvicorn
    from apps.api.main import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning"))
    threading.Thread(target=server.run, name="otlp-receiver", daemon=True).start()
    return server


def replay_command(
    since: Annotated[str, typer.Option("--since", help="Rebuild the raw rows of every file with events from DAY on.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild/--no-rebuild", help="Run the pipeline afterwards.")] = True,
) -> None:
    """Forget the raw rows read from the files that hold events since DAY, read those files again, rebuild."""
    from aioa.live.replay import replay
    from aioa.settings import get_settings

    try:
        day = date.fromisoformat(since)
    except ValueError:
        console.print(f"[red]--since {since!r} is not a date[/red]: use YYYY-MM-DD")
        raise typer.Exit(2) from None
    result = replay(get_settings(), day, rebuild=rebuild)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), default=str))
    else:
        console.print(
            f"replayed {result.files} files: {result.rows_removed:,} rows removed, {result.rows_added:,} read again"
            + (f"; missing files (rows kept): {len(result.missing)}" if result.missing else "")
        )
