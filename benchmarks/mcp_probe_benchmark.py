"""MCP probe benchmark: `aioa mcp status` over 50 configured servers at once (target: < 10 s, concurrent).

The servers are the tests' FastMCP servers (tests/mcp/fake_servers.py): `--stdio` of them started by each probe
as Claude Code would (a Python process importing the MCP SDK: the start-up is most of a stdio probe's cost), and
`--http` streamable-HTTP servers started before the clock runs (a remote server is already running). Each probe
runs the initialize handshake, lists tools, resources and prompts, and pings; then every process the probes
started is checked to be gone. Rounds: `--rounds` passes over the same servers (the first one is cold).

    uv run python benchmarks/mcp_probe_benchmark.py                 # 25 stdio + 25 HTTP
    uv run python benchmarks/mcp_probe_benchmark.py --stdio 50 --http 0

Prints a table and writes benchmarks/results/mcp_probe.json. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
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


def leftovers(allowed: set[int]) -> int:
    children = [child for child in psutil.Process().children(recursive=True) if child.pid not in allowed]
    marked = 0
    for process in psutil.process_iter(["pid"]):
        try:
            marked += PROBE_MARKER in process.environ()
        except (psutil.Error, OSError):
            continue
    return len([child for child in children if child.is_running() and child.status() != "zombie"]) + marked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdio", type=int, default=25, help="stdio servers (started by each probe)")
    parser.add_argument("--http", type=int, default=25, help="streamable-HTTP servers (started beforehand)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per server")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--out", type=Path, default=RESULTS / "mcp_probe.json")
    args = parser.parse_args()

    http = start_http_servers(args.http)
    try:
        servers = [
            McpServer(f"stdio-{i}", "user", "stdio", f"bench:{i}", command=sys.executable, args=[str(FAKE), "stdio"])
            for i in range(args.stdio)
        ] + [
            McpServer(f"http-{i}", "user", "streamable_http", f"bench:http-{i}", url=f"http://127.0.0.1:{port}/mcp")
            for i, (_, port) in enumerate(http)
        ]
        rows = []
        for round_number in range(1, args.rounds + 1):
            started = time.perf_counter()
            results = probe_all(servers, timeout_s=args.timeout, concurrency=args.concurrency)
            wall_s = time.perf_counter() - started
            for kind in ("stdio", "streamable_http"):
                mine = [result for result in results if result.server.transport == kind]
                if not mine:
                    continue
                up = [result for result in mine if result.status == "up"]
                connect = sorted(result.connect_ms for result in up)
                ping = sorted(result.latency_ms for result in up)
                rows.append(
                    {
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
                    "round": round_number,
                    "transport": "all",
                    "servers": len(results),
                    "up": sum(result.status == "up" for result in results),
                    "wall_s": wall_s,
                    "leftover_processes": leftovers({process.pid for process, _ in http}),
                    "target_s": TARGET_S,
                    "met": wall_s < TARGET_S and all(result.status == "up" for result in results),
                }
            )
    finally:
        for process, _ in http:
            process.terminate()
        for process, _ in http:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    print(
        f"{'round':>5} {'transport':<16} {'servers':>7} {'up':>4} {'connect p50':>12} {'max':>9} {'ping p50':>9} "
        f"{'wall s':>7}"
    )
    for row in rows:
        print(
            f"{row['round']:>5} {row['transport']:<16} {row['servers']:>7} {row['up']:>4} "
            f"{_ms(row.get('connect_ms_p50')):>12} {_ms(row.get('connect_ms_max')):>9} {_ms(row.get('ping_ms_p50')):>9} "
            f"{row['wall_s']:>7.2f}"
            + (
                f"  target < {TARGET_S:g} s: {'met' if row['met'] else 'MISSED'}, "
                f"leftover processes: {row['leftover_processes']}"
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
