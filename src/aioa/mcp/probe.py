"""Probe MCP servers with the official SDK: start or reach each configured server, run the initialize handshake,
read its protocol and server version, list its tools, resources and prompts, and time a ping round trip. Every
server is probed concurrently under one deadline each; a crashed or hanging one is reported down with the reason,
and every process a probe started is gone when `probe_all` returns."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import ssl
import tempfile
import time
import uuid
import warnings
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Literal

import anyio

from aioa.mcp.servers import McpServer

PROBE_MARKER = "AIOA_MCP_PROBE_ID"  # set in every started server's env: how leftovers are found and reaped
Status = Literal["up", "down", "skipped"]


@dataclass(frozen=True)
class ToolInfo:
    name: str
    schema_sha256: str  # of the input schema and description: a change is a "schema_changed" event


@dataclass
class ProbeResult:
    server: McpServer
    status: Status
    reason: str | None = None
    latency_ms: float | None = None  # ping round trip (tools/list on 2026-era servers, which have no ping)
    connect_ms: float | None = None  # start (or connect) and handshake
    protocol_version: str | None = None
    server_name: str | None = None
    server_version: str | None = None
    tools: list[ToolInfo] = field(default_factory=list)
    resources: int | None = None
    prompts: int | None = None
    probed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    marker: str | None = field(default=None, repr=False)  # PROBE_MARKER value of the processes it started

    def public(self) -> dict:
        """One entry of `aioa mcp status --json`."""
        return {
            "name": self.server.name,
            "scope": self.server.scope,
            "transport": self.server.transport,
            "status": self.status,
            "reason": self.reason,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 2),
            "connect_ms": None if self.connect_ms is None else round(self.connect_ms, 2),
            "tools": sorted(tool.name for tool in self.tools),
            "resources": self.resources,
            "prompts": self.prompts,
            "protocol_version": self.protocol_version,
            "server_name": self.server_name,
            "server_version": self.server_version,
            "configured_in": self.server.configured_in,
            "key": self.server.key,
            "probed_at": self.probed_at.isoformat(),
        }


def tool_fingerprint(name: str, description: str | None, input_schema: dict | None) -> ToolInfo:
    text = json.dumps({"description": description, "input_schema": input_schema}, sort_keys=True, default=str)
    return ToolInfo(name, hashlib.sha256(text.encode()).hexdigest())


def probe_all(servers: list[McpServer], *, timeout_s: float, concurrency: int) -> list[ProbeResult]:
    """Probe every server at once (at most `concurrency` together); servers turned off are listed as skipped."""
    return anyio.run(_probe_all, servers, timeout_s, concurrency)


async def _probe_all(servers: list[McpServer], timeout_s: float, concurrency: int) -> list[ProbeResult]:
    results: list[ProbeResult | None] = [None] * len(servers)
    limiter = anyio.CapacityLimiter(concurrency)
    markers: list[str] = []

    async def run(index: int, server: McpServer) -> None:
        if not server.probeable:
            results[index] = ProbeResult(server, "skipped", reason=_why_skipped(server))
            return
        marker = uuid.uuid4().hex
        markers.append(marker)
        async with limiter:
            results[index] = await probe_server(server, timeout_s=timeout_s, marker=marker)
            results[index].marker = marker

    try:
        async with anyio.create_task_group() as group:
            for index, server in enumerate(servers):
                group.start_soon(run, index, server)
    finally:
        await anyio.to_thread.run_sync(reap_leftovers, set(markers))
    return [result for result in results if result is not None]


async def probe_server(server: McpServer, *, timeout_s: float, marker: str | None = None) -> ProbeResult:
    """Probe one server; never raises for the server's faults (they are the result's reason)."""
    marker = marker or uuid.uuid4().hex
    stage = ["starting"]
    collected: list[ProbeResult] = []  # the answers, kept should closing the connection fail or time out
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
        try:
            with anyio.fail_after(timeout_s):
                return await _probe(server, stage, started, errlog, marker, collected)
        except TimeoutError:
            reason = f"no answer within {timeout_s:g} s (during {stage[0]})"
        except Exception as error:  # a server's failure, whatever its kind, is a down status with its reason
            reason = f"{stage[0]} failed: {_describe(error)}"
        if stage[0] == "shutdown" and collected:
            return collected[0]  # it answered everything; only closing the connection was slow
        tail = _stderr_tail(errlog)
    return ProbeResult(server, "down", reason=f"{reason}; stderr: {tail}" if tail else reason)


async def _probe(
    server: McpServer, stage: list[str], started: float, errlog: IO[str], marker: str, collected: list[ProbeResult]
) -> ProbeResult:
    from mcp.shared.exceptions import MCPError
    from mcp_types import UNSUPPORTED_PROTOCOL_VERSION

    from mcp import Client

    try:
        return await _session(server, stage, started, errlog, marker, collected, Client, mode="legacy")
    except MCPError as error:
        if error.code != UNSUPPORTED_PROTOCOL_VERSION:
            raise
    # a 2026-era server that refuses the initialize handshake: negotiate its version instead
    return await _session(server, stage, time.perf_counter(), errlog, marker, collected, Client, mode="auto")


async def _session(server, stage, started, errlog, marker, collected, client_class, *, mode: str) -> ProbeResult:
    async with AsyncExitStack() as stack:
        transport = await _transport(server, stack, errlog, marker)
        stage[0] = "initialize"
        client = await stack.enter_async_context(client_class(transport, mode=mode, cache=None))
        connect_ms = (time.perf_counter() - started) * 1000
        info = client.server_info
        result = ProbeResult(
            server,
            "up",
            connect_ms=connect_ms,
            protocol_version=client.protocol_version,
            server_name=info.name if info else None,
            server_version=info.version if info else None,
        )
        capabilities = client.server_capabilities
        stage[0] = "tools/list"
        tools_started = time.perf_counter()
        tools = await _all_pages(client.list_tools, "tools") if capabilities.tools is not None else []
        tools_ms = (time.perf_counter() - tools_started) * 1000
        result.tools = [tool_fingerprint(tool.name, tool.description, tool.input_schema) for tool in tools]
        if capabilities.resources is not None:
            stage[0] = "resources/list"
            result.resources = len(await _all_pages(client.list_resources, "resources"))
        if capabilities.prompts is not None:
            stage[0] = "prompts/list"
            result.prompts = len(await _all_pages(client.list_prompts, "prompts"))
        if mode == "legacy":
            stage[0] = "ping"
            ping_started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ping is deprecated only for 2026-era servers
                await client.send_ping()
            result.latency_ms = (time.perf_counter() - ping_started) * 1000
        else:
            result.latency_ms = tools_ms
        stage[0] = "shutdown"
        collected.append(result)
    return result


async def _all_pages(method, attribute: str, max_pages: int = 20) -> list:
    items, cursor = [], None
    for _ in range(max_pages):
        page = await method(cursor=cursor) if cursor else await method()
        items += getattr(page, attribute)
        cursor = page.next_cursor
        if not cursor:
            break
    return items


async def _transport(server: McpServer, stack: AsyncExitStack, errlog: IO[str], marker: str):
    """The SDK transport for `server`: its own command and env (stdio), or its URL and headers."""
    if server.transport == "stdio":
        from mcp.client.stdio import StdioServerParameters, stdio_client

        parameters = StdioServerParameters(
            command=server.command or "",
            args=server.args,
            env={**_inherited_env(), **server.env, PROBE_MARKER: marker},
            cwd=server.cwd,
        )
        return stdio_client(parameters, errlog=errlog)
    import httpx2

    if server.transport == "sse":
        from mcp.client.sse import sse_client

        return sse_client(server.url or "", headers=server.headers or None, timeout=10, sse_read_timeout=60)
    from mcp.client.streamable_http import streamable_http_client

    # the SDK's client settings (create_mcp_http_client), with one TLS context for every probe: building one costs
    # ~40 ms of CPU, which fifty concurrent probes would pay fifty times
    http = await stack.enter_async_context(
        httpx2.AsyncClient(headers=server.headers or None, timeout=httpx2.Timeout(10, read=60), verify=_tls_context())
    )
    return streamable_http_client(server.url or "", http_client=http)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _inherited_env() -> dict[str, str]:
    """What Claude Code gives a server it starts: the user's environment (the SDK's default keeps only a few
    variables, which breaks servers found on the user's PATH setup, e.g. nvm's npx)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("AIOA_")}


def reap_leftovers(markers: set[str]) -> int:
    """Kill any process still carrying one of `markers` in its environment (a server's child that outlived it);
    returns how many were killed."""
    if not markers:
        return 0
    import psutil

    killed = []
    for process in psutil.process_iter(["pid"]):
        try:
            if process.pid == os.getpid() or process.environ().get(PROBE_MARKER) not in markers:
                continue
            process.kill()
            killed.append(process)
        except (psutil.Error, OSError):
            continue
    psutil.wait_procs(killed, timeout=3)
    return len(killed)


def _describe(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup):
        leaves = [leaf for leaf in _leaves(error)]
        return "; ".join(dict.fromkeys(_describe(leaf) for leaf in leaves)) or type(error).__name__
    text = str(error).strip() or type(error).__name__
    return f"{type(error).__name__}: {text}" if type(error).__name__ not in text else text


def _leaves(group: BaseExceptionGroup):
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            yield from _leaves(error)
        else:
            yield error


def _stderr_tail(errlog: IO[str], max_chars: int = 300) -> str:
    try:
        errlog.seek(0)
        lines = [line.strip() for line in errlog.read().splitlines() if line.strip()]
    except (OSError, ValueError):
        return ""
    return lines[-1][-max_chars:] if lines else ""


def _why_skipped(server: McpServer) -> str:
    if not server.probe:
        return "probing turned off for this server (AIOA_MCP_PROBE_DISABLED)"
    if not server.enabled:
        return "disabled or not approved in Claude Code's settings: never started by aioa"
    return "no transport configured"
