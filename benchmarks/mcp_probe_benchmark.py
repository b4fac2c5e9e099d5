"""MCP probe benchmark: `aioa mcp status` over 50 configured servers at once (target: < 10 s, concurrent).

Two kinds of stdio server, each a row of its own (`--stdio-server`, default both, one after the other):
- `minimal`: benchmarks/minimal_mcp_server.py under `python -S -E`, standard library only, newline-delimited
  JSON-RPC (starts in milliseconds, like the Node or Go programs most real stdio servers are): measures the prober;
- `sdk`: the tests' FastMCP server (tests/mcp/fake_servers.py), a Python process importing the MCP SDK
  (≈ 0.7 CPU-s per start): measures mostly the servers' imports.
Each stdio server is started by its probe as Claude Code would; `--http` streamable-HTTP servers (FastMCP) are
started before the clock runs (a remote server is already running). Each probe runs the initialize handshake,
lists tools, resources and prompts, and pings; then every process the probes started is checked to be gone.
Rounds: `--rounds` passes over the same servers (the first one is cold: it also imports the SDK's client).
CPU: `probe cpu s` is this process's (the prober's) user+system time over the pass (getrusage RUSAGE_SELF);
`servers cpu s` is that of the stdio servers the pass started and reaped (RUSAGE_CHILDREN).

    uv run python benchmarks/mcp_probe_benchmark.py                 # 25 stdio + 25 HTTP, minimal then sdk
    uv run python benchmarks/mcp_probe_benchmark.py --stdio 50 --http 0 --stdio-server minimal

Prints a table and writes benchmarks/results/mcp_probe.json. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aioa.mcp.probe import PROBE_MARKER, probe_all  # noqa: E402
from aioa.mcp.servers import McpServer  # noqa: E402

FAKE = ROOT / "tests" / "mcp" / "fake_servers.py"
MINIMAL = ROOT / "benchmarks" / "minimal_mcp_server.py"
STDIO_ARGS = {"minimal": ["-S", "-E", str(MINIMAL)], "sdk": [str(FAKE), "stdio"]}
RESULTS = ROOT / "benchmarks" / "results"
TARGET_S = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_http_servers(count: int) -> list[tuple[subprocess.Popen, int]]:
    servers = []
    for _ in range(count):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, str(FAKE), "http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        servers.append((process, port))
    deadline = time.monotonic() + 180
    for process, port in servers:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"HTTP server on port {port} did not start") from None
                time.sleep(0.1)
    return servers


def leftovers(allowed: set[int], markers: set[str]) -> int:
    """Processes the probes left: our children other than the HTTP servers, and any process carrying one of this
    pass's probe markers (other sessions' probes on the machine carry other markers)."""
    children = [child for child in psutil.Process().children(recursive=True) if child.pid not in allowed]
    marked = 0
    for process in psutil.process_iter(["pid"]):
        try:
            marked += process.environ().get(PROBE_MARKER) in markers
        except (psutil.Error, OSError):
            continue
    return len([child for child in children if child.is_running() and child.status() != "zombie"]) + marked


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def probe_pass(servers: list[McpServer], args, stdio_server: str, round_number: int, allowed: set[int]) -> list:
    self_cpu, children_cpu = cpu_seconds(resource.RUSAGE_SELF), cpu_seconds(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    results = probe_all(servers, timeout_s=args.timeout, concurrency=args.concurrency)
    wall_s = time.perf_counter() - started
    probe_cpu_s = cpu_seconds(resource.RUSAGE_SELF) - self_cpu
    servers_cpu_s = cpu_seconds(resource.RUSAGE_CHILDREN) - children_cpu
    rows = []
    for kind in ("stdio", "streamable_http"):
        mine = [result for result in results if result.server.transport == kind]
        if not mine:
            continue
        up = [result for result in mine if result.status == "up"]
        connect = sorted(result.connect_ms for result in up)
        ping = sorted(result.latency_ms for result in up)
        rows.append(
            {
                "stdio_server": stdio_server,
                "round": round_number,
                "transport": kind,
                "servers": len(mine),
                "up": len(up),
                "down_reasons": sorted({result.reason for result in mine if result.status != "up"}),
                "connect_ms_p50": statistics.median(connect) if connect else None,
                "connect_ms_max": connect[-1] if connect else None,
                "ping_ms_p50": statistics.median(ping) if ping else None,
                "wall_s": wall_s,
            }
        )
    rows.append(
        {
            "stdio_server": stdio_server,
            "round": round_number,
            "transport": "all",
            "servers": len(results),
            "up": sum(result.status == "up" for result in results),
            "wall_s": wall_s,
            "probe_cpu_s": probe_cpu_s,
            "servers_cpu_s": servers_cpu_s,
            "leftover_processes": leftovers(allowed, {result.marker for result in results if result.marker}),
            "target_s": TARGET_S,
            "met": wall_s < TARGET_S and all(result.status == "up" for result in results),
        }
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdio", type=int, default=25, help="stdio servers (started by each probe)")
    parser.add_argument("--http", type=int, default=25, help="streamable-HTTP servers (started beforehand)")
    parser.add_argument(
        "--stdio-server",
        choices=["minimal", "sdk", "both"],
        default="both",
        help="minimal: standard-library server under python -S -E; sdk: the tests' FastMCP server",
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per server")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--out", type=Path, default=RESULTS / "mcp_probe.json")
    args = parser.parse_args()
    variants = ["minimal", "sdk"] if args.stdio_server == "both" else [args.stdio_server]

    http = start_http_servers(args.http)
    try:
        http_servers = [
            McpServer(f"http-{i}", "user", "streamable_http", f"bench:http-{i}", url=f"http://127.0.0.1:{port}/mcp")
            for i, (_, port) in enumerate(http)
        ]
        rows = []
        for variant in variants:
            servers = [
                McpServer(f"stdio-{i}", "user", "stdio", f"bench:{i}", command=sys.executable, args=STDIO_ARGS[variant])
                for i in range(args.stdio)
            ] + http_servers
            for round_number in range(1, args.rounds + 1):
                rows += probe_pass(servers, args, variant, round_number, {process.pid for process, _ in http})
    finally:
        for process, _ in http:
            process.terminate()
        for process, _ in http:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    print(
        f"{'stdio server':<12} {'round':>5} {'transport':<16} {'servers':>7} {'up':>4} {'connect p50':>12} "
        f"{'max':>9} {'ping p50':>9} {'wall s':>7}"
    )
    for row in rows:
        print(
            f"{row['stdio_server']:<12} {row['round']:>5} {row['transport']:<16} {row['servers']:>7} {row['up']:>4} "
            f"{_ms(row.get('connect_ms_p50')):>12} {_ms(row.get('connect_ms_max')):>9} {_ms(row.get('ping_ms_p50')):>9} "
            f"{row['wall_s']:>7.2f}"
            + (
                f"  target < {TARGET_S:g} s: {'met' if row['met'] else 'MISSED'}; probe cpu {row['probe_cpu_s']:.2f} s,"
                f" servers cpu {row['servers_cpu_s']:.2f} s; leftover processes: {row['leftover_processes']}"
                if row["transport"] == "all"
                else ""
            )
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cores": len(os.sched_getaffinity(0)), "load_1m": os.getloadavg()[0]}
    args.out.write_text(
        json.dumps(
            {"machine": machine, "args": vars(args) | {"out": str(args.out)}, "rows": rows}, indent=2, default=str
        )
    )
    print(f"wrote {args.out} (load average at the end: {machine['load_1m']:.1f} on {machine['cores']} cores)")


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f} ms"


if __name__ == "__main__":
    main()
