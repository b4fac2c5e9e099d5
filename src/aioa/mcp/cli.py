"""`aioa mcp`: discover MCP servers, probe their status, read their history, tool-list changes and Claude
Desktop's server logs. Heavy imports (the MCP SDK, SQLAlchemy, DuckDB) happen inside the commands."""

from __future__ import annotations

import json
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aioa.reports.output import print_rich_table

mcp_app = typer.Typer(help="MCP servers: discovery, live status, history, tool changes.", no_args_is_help=True)
console = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
OrgOption = Annotated[
    str | None,
    typer.Option(help="Org the results are stored and read under (default: AIOA_DEFAULT_ORG)."),
]


def _settings():
    from aioa.settings import get_settings

    return get_settings()


def _print_json(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _since(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


@mcp_app.command("discover")
def discover_command(
    as_json: JsonFlag = False,
    org: OrgOption = None,
    transcripts: Annotated[
        bool, typer.Option(help="Add servers seen in transcripts (the published warehouse snapshot).")
    ] = True,
) -> None:
    """Servers configured for Claude Code (user, local, project, managed, plugins) and Claude Desktop, and those
    seen in transcripts; secrets in env, headers, URLs and arguments are redacted."""
    from aioa.mcp.discovery import discover
    from aioa.mcp.store import McpStore
    from aioa.warehouse.access import TenantScope

    settings = _settings()
    org_id = org or settings.default_org
    found = discover(settings, TenantScope.for_orgs(org) if org else TenantScope.all_orgs(), transcripts=transcripts)
    store = McpStore(settings)
    try:
        store.record_sightings(org_id, found.servers)
    finally:
        store.close()
    if as_json:
        _print_json([server.public() for server in found.servers])
        return
    table = Table(title=f"MCP servers ({len(found.servers)})")
    for column in ("name", "scope", "transport", "command / url", "configured in", "first seen", "calls"):
        table.add_column(column)
    for server in found.servers:
        shown = server.public()
        target = shown["url"] or " ".join(filter(None, [shown["command"], *shown["args"]])) or ""
        table.add_row(
            server.name + ("" if server.enabled else " [dim](disabled)[/dim]"),
            server.scope,
            server.transport or "?",
            target[:60],
            (server.configured_in or "transcripts")[-50:],
            (shown["first_seen"] or "")[:19],
            str(server.transcript_calls),
        )
    print_rich_table(table)
    for note in found.notes:
        console.print(f"[yellow]{note}[/yellow]")


@mcp_app.command("status")
def status_command(
    as_json: JsonFlag = False,
    org: OrgOption = None,
    server: Annotated[list[str] | None, typer.Option(help="Only these servers (repeatable).")] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds per server (default AIOA_MCP_PROBE_TIMEOUT_S).")
    ] = None,
) -> None:
    """Probe every configured server now (concurrently): up or down with the reason, ping latency, tools, server
    version. Results and tool-list changes are stored. Exit code 1 when a server is down."""
    from aioa.mcp.monitor import monitor

    settings = _settings()
    if timeout is not None:
        settings = settings.model_copy(update={"mcp_probe_timeout_s": timeout})
    with console.status("Probing MCP servers…", spinner="dots") if not as_json else nullcontext():
        run = monitor(settings, org or settings.default_org, names=server)
    if as_json:
        _print_json([result.public() for result in run.results])
    else:
        table = Table(title="MCP server status")
        for column in ("name", "scope", "transport", "status", "latency ms", "tools", "version", "reason"):
            table.add_column(column)
        colours = {"up": "green", "down": "red", "skipped": "dim"}
        for result in run.results:
            shown = result.public()
            table.add_row(
                shown["name"],
                shown["scope"],
                shown["transport"] or "?",
                f"[{colours[result.status]}]{result.status}[/]",
                "" if shown["latency_ms"] is None else f"{shown['latency_ms']:.1f}",
                str(len(shown["tools"])) if result.status == "up" else "",
                shown["server_version"] or "",
                (shown["reason"] or "")[:80],
            )
        print_rich_table(table)
        for change in run.changes:
            console.print(f"[yellow]{change.server_name}: tool {change.tool_name} {change.change}[/yellow]")
        if not run.results:
            console.print("No configured MCP servers found; `aioa mcp discover` shows where aioa looked.")
    if run.down:
        raise typer.Exit(1)


@mcp_app.command("history")
def history_command(
    as_json: JsonFlag = False,
    org: OrgOption = None,
    days: Annotated[int, typer.Option(help="Look back this many days.")] = 7,
) -> None:
    """Per server: probes, uptime and latency p50/p95 over the last days, and the last status."""
    from aioa.mcp.store import McpStore

    settings = _settings()
    store = McpStore(settings)
    try:
        rows = store.summary(org or settings.default_org, _since(days))
    finally:
        store.close()
    if as_json:
        _print_json(rows)
        return
    table = Table(title=f"MCP uptime, last {days} days")
    for column in ("name", "probes", "uptime", "p50 ms", "p95 ms", "last", "reason"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"],
            str(row["probes"]),
            "" if row["uptime"] is None else f"{row['uptime']:.1%}",
            _ms(row["latency_ms_p50"]),
            _ms(row["latency_ms_p95"]),
            row["last_status"],
            (row["last_reason"] or "")[:60],
        )
    print_rich_table(table)


@mcp_app.command("changes")
def changes_command(
    as_json: JsonFlag = False,
    org: OrgOption = None,
    days: Annotated[int, typer.Option(help="Look back this many days.")] = 30,
) -> None:
    """Tool-list changes seen by the probes: tools added, removed or whose schema changed."""
    from aioa.mcp.events import tool_change_events

    settings = _settings()
    events = tool_change_events(settings, org or settings.default_org, _since(days))
    if as_json:
        _print_json([event.public() for event in events])
        return
    table = Table(title="MCP tool changes")
    for column in ("detected", "server", "tool", "change"):
        table.add_column(column)
    for event in events:
        table.add_row(event.detected_at.isoformat()[:19], event.server_name, event.tool_name, event.change)
    print_rich_table(table)


@mcp_app.command("desktop-logs")
def desktop_logs_command(as_json: JsonFlag = False) -> None:
    """Claude Desktop's MCP server logs: starts, connect time, request latency, errors per server."""
    from aioa.mcp.desktop_logs import log_files, read_desktop_logs

    settings = _settings()
    logs = read_desktop_logs(settings)
    if as_json:
        _print_json([log.public() for log in logs])
        return
    if not logs:
        console.print("No Claude Desktop MCP logs found (set AIOA_MCP_DESKTOP_LOG_DIR to point at them).")
        return
    table = Table(title=f"Claude Desktop MCP logs ({len(log_files(settings))} files)")
    for column in ("server", "starts", "connect p50 ms", "requests", "p95 ms", "errors", "last error"):
        table.add_column(column)
    for log in logs:
        shown = log.public()
        table.add_row(
            shown["server"],
            str(shown["starts"]),
            _ms(shown["connect_ms_p50"]),
            str(shown["requests"]),
            _ms(shown["request_ms_p95"]),
            str(shown["errors"]),
            (shown["last_error"] or "")[:60],
        )
    print_rich_table(table)


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


registry_app = typer.Typer(help="The official MCP registry: import server.json entries, match configured servers.")
mcp_app.add_typer(registry_app, name="registry")


@registry_app.command("import")
def registry_import_command(
    source: Annotated[str, typer.Argument(help="A server.json file, a list of them, or a registry API URL/page.")],
    as_json: JsonFlag = False,
) -> None:
    """Import the registry's server.json entries (a name imported again takes its new version)."""
    from aioa.mcp.registry import import_entries, load
    from aioa.mcp.store import McpStore

    try:
        entries = load(source)
    except (OSError, ValueError) as error:
        console.print(f"[red]Could not read {source}:[/red] {error}. Give a server.json file or a registry URL.")
        raise typer.Exit(2) from None
    except Exception as error:  # httpx errors: the registry was unreachable or answered with an error
        console.print(f"[red]Could not fetch {source}:[/red] {error}")
        raise typer.Exit(2) from None
    store = McpStore(_settings())
    try:
        count = import_entries(store, entries, source)
    finally:
        store.close()
    if as_json:
        _print_json({"imported": count, "source": source})
    else:
        console.print(f"Imported {count} registry entries from {source}.")


@registry_app.command("match")
def registry_match_command(as_json: JsonFlag = False, org: OrgOption = None) -> None:
    """Configured servers matched to registry entries, with the version they run and whether it is behind."""
    from aioa.mcp.discovery import discover
    from aioa.mcp.registry import match, probed_versions, stored_entries
    from aioa.mcp.store import McpStore

    settings = _settings()
    servers = discover(settings, transcripts=False).servers
    store = McpStore(settings)
    try:
        rows = match(servers, stored_entries(store), probed_versions(store, org or settings.default_org))
    finally:
        store.close()
    if as_json:
        _print_json(rows)
        return
    table = Table(title="MCP servers and the registry")
    for column in ("name", "registry entry", "runs", "registry", "behind"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"],
            row["registry_name"] or "",
            row["version"] or "",
            row["registry_version"] or "",
            "[yellow]yes[/yellow]" if row["behind"] else "",
        )
    print_rich_table(table)
