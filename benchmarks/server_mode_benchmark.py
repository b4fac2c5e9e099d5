"""Server-mode benchmark: reports read from PostgreSQL with and without the Redis answer cache, and the API's
throughput with one and two `aioa serve` replicas sharing only PostgreSQL and Redis.

The small sample is built into a throwaway PostgreSQL database (`AIOA_WAREHOUSE=postgres`, partitions and BRIN
indexes as the sync makes them), dropped at the end.

1. Report p50/p95 in-process: each `aioa report KIND` query and the KPIs on a read-only `PostgresReader`
   (uncached: every run goes to PostgreSQL), then the same answers through `RedisAnswerCache` (hits: one GET and
   a JSON decode).
2. API: `GET /v1/reports/daily` with a JWT, `--clients` concurrent clients for `--seconds`, against one replica and
   against two (half the clients on each); answers cached in Redis, rate limits in Redis (raised out of the way),
   accounts in the same throwaway database.

    uv run python benchmarks/server_mode_benchmark.py --seconds 10 --clients 10

Prints a table and writes benchmarks/results/server_mode.json. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.api_benchmark import Credentials, Endpoint, Row, Server, load, make_identities  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/0"
KPI_FILTERS = ("2026-10-01", "2026-10-31")
console = Console(width=max(Console().width, 140))


def percentiles(times_ms: list[float]) -> dict:
    values = np.array(times_ms)
    return {
        "runs": len(values),
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "mean_ms": round(statistics.fmean(values), 2),
    }


def build(work: Path, url: str):
    from aioa.generate import generate
    from aioa.pipeline import SourcePaths, run_pipeline
    from aioa.settings import Settings

    sample = work / "sample"
    generate(sample, size="small", seed=7)
    home = work / "builder"
    home.mkdir()
    shutil.copy(sample / "attribution.yaml", home / "attribution.yaml")
    settings = Settings(home=home, warehouse="postgres", postgres_dsn=url)
    started = time.perf_counter()
    report = run_pipeline(settings, SourcePaths.from_sample(sample), include_ml=False)
    if report.status != "ok":
        raise SystemExit(f"the PostgreSQL build failed: {report.message}")
    return settings, time.perf_counter() - started


def report_latencies(settings, runs: int, hits: int) -> list[dict]:
    from datetime import date

    from apps.api.cache import RedisAnswerCache

    from aioa.analytics import Filters, queries
    from aioa.reports import REPORT_KINDS, usage_report
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.snapshots import open_snapshot

    reader, version = open_snapshot(settings)
    scope = TenantScope.all_orgs()
    kpi_filters = Filters(date.fromisoformat(KPI_FILTERS[0]), date.fromisoformat(KPI_FILTERS[1]))
    work = {f"report {kind}": (lambda kind=kind: usage_report(reader, kind, scope=scope)) for kind in REPORT_KINDS}
    work["kpis (October)"] = lambda: queries.kpis(reader, kpi_filters, scope)
    cache = RedisAnswerCache(REDIS, namespace=f"benchmark-{secrets.token_hex(4)}")
    rows = []
    with reader:
        for name, compute in work.items():
            uncached = []
            for _ in range(runs):
                began = time.perf_counter()
                compute()
                uncached.append((time.perf_counter() - began) * 1000)
            cache.get_or_compute(version, name, compute)  # the one miss
            cached = []
            for _ in range(hits):
                began = time.perf_counter()
                cache.get_or_compute(version, name, compute)
                cached.append((time.perf_counter() - began) * 1000)
            rows.append({"query": name, "postgres": percentiles(uncached), "redis_cache": percentiles(cached)})
    return rows


async def _together(servers, rows, endpoint, headers, clients_each: int, seconds: float) -> None:
    """Load every replica at once, `clients_each` clients on each."""
    await asyncio.gather(
        *(
            load(server.url, endpoint, headers, clients_each, seconds, 10**9, row)
            for server, row in zip(servers, rows, strict=True)
        )
    )


def api_throughput(settings, identity_url: str, work: Path, clients: int, seconds: float) -> list[dict]:
    email, password, key = make_identities(work / "admin", identity_url, "acme")
    endpoint = Endpoint("GET /v1/reports/daily", "GET", "/v1/reports/daily", "jwt")
    results = []
    for replicas in (1, 2):
        servers = []
        try:
            for number in range(replicas):
                home = work / f"replica-{replicas}-{number}"
                home.mkdir()
                server = Server(home, identity_url, work / f"serve-{replicas}-{number}.log")
                server.env.update(
                    {
                        "AIOA_WAREHOUSE": "postgres",
                        "AIOA_POSTGRES_DSN": settings.postgres_dsn,
                        "AIOA_REDIS_URL": REDIS,
                    }
                )
                servers.append(server.__enter__())
            headers = Credentials(servers[0].url, email, password, key).header("jwt")
            rows = [Row(endpoint, clients // replicas) for _ in servers]
            cpu_before = sum(server.cpu_seconds() for server in servers)

            asyncio.run(_together(servers, rows, endpoint, headers, clients // replicas, seconds))
            cpu = sum(server.cpu_seconds() for server in servers) - cpu_before
        finally:
            for server in servers:
                server.__exit__()
        latencies = [value for row in rows for value in row.latencies_ms]
        statuses = sum((row.statuses for row in rows), start=type(rows[0].statuses)())
        elapsed = max(row.seconds for row in rows)
        results.append(
            {
                "replicas": replicas,
                "clients": clients,
                "requests": len(latencies),
                "errors": len(latencies) - statuses.get("200", 0),
                "requests_per_s": round(len(latencies) / elapsed, 1),
                **{key: value for key, value in percentiles(latencies).items() if key != "runs"},
                "server_cpu_ms_per_request": round(cpu * 1000 / len(latencies), 2) if latencies else None,
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="Uncached runs per report query.")
    parser.add_argument("--hits", type=int, default=300, help="Cached lookups per report query.")
    parser.add_argument("--clients", type=int, default=10, help="Concurrent API clients (split over the replicas).")
    parser.add_argument("--seconds", type=float, default=10.0, help="Length of each API run.")
    parser.add_argument("--out", type=Path, default=RESULTS / "server_mode.json")
    args = parser.parse_args()

    from tests.conftest import pg_database

    os.environ.pop("AIOA_REDIS_URL", None)
    with tempfile.TemporaryDirectory(prefix="aioa-server-bench-") as folder, pg_database("aioa_bench") as url:
        work = Path(folder)
        console.print("building the small sample into a throwaway PostgreSQL database …")
        settings, build_s = build(work, url)
        reports = report_latencies(settings, args.runs, args.hits)
        api = api_throughput(settings, url, work, args.clients, args.seconds)
        from aioa.identity.store import dispose_all

        dispose_all()
    load_average = os.getloadavg()
    table = Table(title="PostgreSQL mode: report latency (in-process)")
    for column in ("query", "PostgreSQL p50", "PostgreSQL p95", "Redis hit p50", "Redis hit p95"):
        table.add_column(column, justify="left" if column == "query" else "right")
    for row in reports:
        table.add_row(
            row["query"],
            *(f"{row[side][stat]:.2f} ms" for side in ("postgres", "redis_cache") for stat in ("p50_ms", "p95_ms")),
        )
    console.print(table)
    table = Table(title=f"API GET /v1/reports/daily, {args.clients} clients, {args.seconds:g} s")
    for column in ("replicas", "requests/s", "p50", "p95", "errors", "server CPU ms/request"):
        table.add_column(column, justify="right")
    for row in api:
        table.add_row(
            str(row["replicas"]),
            f"{row['requests_per_s']:.1f}",
            f"{row['p50_ms']:.1f} ms",
            f"{row['p95_ms']:.1f} ms",
            str(row["errors"]),
            str(row["server_cpu_ms_per_request"]),
        )
    console.print(table)
    console.print(f"build {build_s:.0f} s; load average {load_average[0]:.2f} {load_average[1]:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"build_s": round(build_s, 1), "load_average": load_average, "reports": reports, "api": api}, indent=2
        )
    )
    console.print(f"written {args.out}")


if __name__ == "__main__":
    main()
