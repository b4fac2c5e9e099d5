"""API benchmark: `aioa serve` with authentication on, loaded by 1, 10 and 50 concurrent clients on loopback.

For each number of clients, one bounded run (`--seconds` or `--requests`, whichever ends first) per endpoint:
`GET /healthz` (reference: no auth, no query, so the client's and the framework's own cost are visible),
`GET /v1/reports/daily` and `GET /v1/kpis` with a bearer JWT from the password flow, `GET /v1/kpis` with an API
key, and `POST /v1/route` with an API key (when the home has a trained router; else "no router"). Each row gives
p50/p95/p99 latency, requests/s, errors (anything but 200), the server's CPU seconds and the targets (2 cores):
p95 < 50 ms at 10 clients and >= 200 requests/s (warm: the same request repeated, answered from the API's
per-snapshot answer cache, sent plain on loopback) for the report and KPIs, and `POST /v1/route` p99 < 20 ms (judged
at 1 client: one decision's latency).

The identity store is a throwaway SQLite file (AIOA_DATABASE_URL) with one admin account and one API key (scopes
read and route) for the home's first org; rate limits are raised out of the way (the in-process buckets are still
taken on every request). The server's decision log file (`<home>/routing/decisions/*-<server pid>.jsonl`) is
removed afterwards, so the benchmarked home keeps no benchmark decisions. Without a published snapshot under
`--home`, a small home is built first (`aioa generate --size small` + `aioa run`) under `--work`.
`--profile` then times each step of one request path in this process and prints cProfile's top functions.

The load generator (`--client`): `wrk` (a C load generator; `auto`, the default, picks it when it is on PATH) or the
asyncio httpx client in this process (`python`). The Python client costs a few CPU-ms per request on the same cores
as the server, so its rows measure the client too; wrk costs a fraction of that. `--client wrk,python` runs both on
every row, one after the other (A/B), against the same server. wrk runs each row for `--seconds` (it has no request
bound), `-t min(clients, 2) -c clients`, keep-alive, the same headers and body, and reports through a Lua `done()`
generated per row: its errors are responses >= 400 and socket errors (connect, read, write, timeout). Each row also
records the client's own CPU seconds (wrk: the child's rusage; Python: this process's CPU during the load).

    uv run python benchmarks/api_benchmark.py --home /work/bench/pipeline-large/home --profile
    uv run python benchmarks/api_benchmark.py --client wrk,python --seconds 5 --requests 100000

Prints a table and writes benchmarks/results/api.json. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import re
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psutil
from rich.console import Console
from rich.markup import escape
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CLIENTS = (1, 10, 50)
P95_TARGET_MS = 50.0  # reports and KPIs at 10 clients
RPS_TARGET = 200.0  # reports and KPIs, warm, at 10 and 50 clients
ROUTE_P99_TARGET_MS = 20.0  # POST /v1/route, one client
WRK_THREADS = 2  # at most; one per client below that (loopback at these rates needs no more)
WRK_TIMEOUT = "60s"  # as the Python client's; wrk counts a slower answer as a timeout error
UNLIMITED_PER_MINUTE = str(10**9)  # rate limits out of the way (the buckets are still taken per request)
ROUTE_TASK = {
    "task_text": "Refactor the retry loop in billing/payments.py to use exponential backoff with jitter, keep the "
    "public interface, and add unit tests for the timeout and the give-up paths.",
    "task_type": "refactor",
    "input_tokens": 1800,
}
console = Console(width=max(Console().width, 160))


@dataclass(frozen=True)
class Endpoint:
    label: str
    method: str
    path: str
    auth: str  # none, jwt, key
    body: dict | None = None

    def targets(self, clients: int) -> list[str]:
        if self.path in ("/v1/reports/daily", "/v1/kpis"):
            return ([f"p95 < {P95_TARGET_MS:.0f} ms"] if clients == 10 else []) + (
                [f">= {RPS_TARGET:.0f} req/s"] if clients >= 10 else []
            )
        if self.path == "/v1/route" and clients == 1:
            return [f"p99 < {ROUTE_P99_TARGET_MS:.0f} ms"]
        return []


ENDPOINTS = (
    Endpoint("GET /healthz (reference)", "GET", "/healthz", "none"),
    Endpoint("GET /v1/reports/daily", "GET", "/v1/reports/daily", "jwt"),
    Endpoint("GET /v1/kpis", "GET", "/v1/kpis", "jwt"),
    Endpoint("GET /v1/kpis", "GET", "/v1/kpis", "key"),
    Endpoint("POST /v1/route", "POST", "/v1/route", "key", ROUTE_TASK),
)


@dataclass
class Row:
    endpoint: Endpoint
    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    def summary(self) -> dict:
        times = np.array(self.latencies_ms)
        requests = len(times)
        errors = requests - self.statuses.get("200", 0)
        result = {
            "endpoint": self.endpoint.label,
            "auth": self.endpoint.auth,
            "clients": self.clients,
            "client": "python",
            "requests": requests,
            "errors": errors,
            "statuses": dict(self.statuses),
            "seconds": round(self.seconds, 3),
            "requests_per_s": round(requests / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(float(np.percentile(times, 50)), 2),
            "p95_ms": round(float(np.percentile(times, 95)), 2),
            "p99_ms": round(float(np.percentile(times, 99)), 2),
            "max_ms": round(float(times.max()), 2),
            "server_cpu_s": round(self.server_cpu_s, 2),
            "server_cpu_ms_per_request": round(self.server_cpu_s * 1000 / requests, 2) if requests else None,
            "client_cpu_s": round(self.client_cpu_s, 2),
            "client_cpu_ms_per_request": round(self.client_cpu_s * 1000 / requests, 2) if requests else None,
        }
        return judged(self.endpoint, result)


def judged(endpoint: Endpoint, result: dict) -> dict:
    """`result` with its targets met or missed (a row that failed, or had any error, misses them all)."""
    verdicts = {}
    for target in endpoint.targets(result["clients"]):
        if "error" in result:
            met = False
        elif target.startswith("p95"):
            met = result["p95_ms"] < P95_TARGET_MS
        elif target.startswith("p99"):
            met = result["p99_ms"] < ROUTE_P99_TARGET_MS
        else:
            met = result["requests_per_s"] >= RPS_TARGET
        verdicts[target] = bool(met and not result.get("errors"))
    return result | {"targets": verdicts}


# --- the home ---------------------------------------------------------------------------------------------------


def has_snapshot(home: Path) -> bool:
    from aioa.settings import Settings
    from aioa.warehouse.snapshots import NoSnapshotError, current_snapshot

    try:
        return current_snapshot(Settings(home=home))[1].exists()
    except NoSnapshotError:
        return False


def build_small_home(work: Path) -> Path:
    """`aioa generate --size small` and `aioa run` (ML included: the router) in `work/home`, as `make demo` does."""
    home = work / "home"
    if has_snapshot(home):
        console.print(f"reusing the small home built earlier in {home}")
        return home
    dagster = home / "dagster"
    dagster.mkdir(parents=True, exist_ok=True)
    (dagster / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "AIOA_HOME": str(home), "DAGSTER_HOME": str(dagster)}
    env.pop("AIOA_DATABASE_URL", None)
    log = work / "build.log"
    console.print(f"no published snapshot: building a small home in {home} (generate + pipeline, log {log}) …")
    started = time.perf_counter()
    with log.open("w") as out:
        for command in (["generate", "--size", "small"], ["run", "--sample", str(home / "sample")]):
            done = subprocess.run(
                [sys.executable, "-m", "aioa.cli", *command], env=env, cwd=ROOT, stdout=out, stderr=out
            )
            if done.returncode != 0:
                raise SystemExit(f"`aioa {' '.join(command)}` failed; see {log}:\n{log.read_text()[-3000:]}")
    console.print(f"built in {time.perf_counter() - started:.0f} s")
    return home


def describe_home(home: Path) -> dict:
    """Snapshot version, calls, orgs (the first one is benchmarked), days."""
    from aioa.settings import Settings
    from aioa.warehouse.snapshots import open_snapshot

    connection, version = open_snapshot(Settings(home=home))
    with connection:
        per_org = connection.execute(
            "select org_id, count(*) from marts.fct_llm_calls group by org_id order by org_id"
        ).fetchall()
        first_day, last_day = connection.execute("select min(day), max(day) from marts.agg_usage_daily").fetchone()
    return {
        "home": str(home),
        "snapshot": version,
        "calls": sum(count for _, count in per_org),
        "calls_per_org": {org: count for org, count in per_org},
        "org": per_org[0][0],
        "days": f"{first_day} … {last_day}",
    }


# --- identity and server ------------------------------------------------------------------------------------------


def make_identities(home: Path, database_url: str, org: str) -> tuple[str, str, str]:
    """An admin account (email, password) and an API key (read + route) for `org` in a fresh identity store."""
    from aioa.identity import accounts, api_keys
    from aioa.identity.store import dispose_all
    from aioa.settings import Settings

    settings = Settings(home=home, database_url=database_url)
    email, password = f"api-benchmark@{org}.example", secrets.token_urlsafe(16)
    accounts.create_user(settings, email, org_id=org, role="admin", password=password)
    _info, key = api_keys.create_key(settings, org_id=org, scopes=["read", "route"], name="api-benchmark")
    dispose_all()
    return email, password, key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`aioa serve` in a subprocess on a free loopback port, authentication on; always stopped (`with`)."""

    def __init__(self, home: Path, database_url: str, log: Path, workers: int = 1) -> None:
        self.home, self.log, self.workers = home, log, workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "AIOA_HOME": str(home),
            "AIOA_DATABASE_URL": database_url,
            "AIOA_AUTH": "on",
            "AIOA_API_REQUESTS_PER_MINUTE_PER_KEY": UNLIMITED_PER_MINUTE,
            "AIOA_API_REQUESTS_PER_MINUTE_PER_TENANT": UNLIMITED_PER_MINUTE,
            "AIOA_SESSION_SECRET": secrets.token_hex(32),  # else the server writes <home>/session-secret
        }
        self.env.pop("AIOA_REDIS_URL", None)  # in-process buckets, as a single `aioa serve`
        self.decisions = home / "routing" / "decisions"
        self._decisions_before = self._decision_files()

    def _decision_files(self) -> dict[Path, int]:
        return {path: path.stat().st_size for path in self.decisions.glob("*.jsonl")} if self.decisions.exists() else {}

    def __enter__(self) -> Server:
        self._out = self.log.open("w")
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "aioa.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)),
                *("--workers", str(self.workers)),
            ],
            env=self.env,
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        self.cpu = psutil.Process(self.process.pid)
        try:
            self._wait_until_ready()
        except BaseException:
            self.__exit__()  # a server that never answered is stopped too (it would keep the port and its workers)
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"aioa serve exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"aioa serve did not answer within 120 s:\n{self.log.read_text()[-3000:]}")
        ready = httpx.get(f"{self.url}/readyz", timeout=30)
        if ready.status_code != 200:
            raise SystemExit(f"/readyz: {ready.status_code} {ready.text}")

    def cpu_seconds(self) -> float:
        """CPU of the server and its worker processes (`--workers N` runs N children)."""
        total = 0.0
        for process in (self.cpu, *self.cpu.children(recursive=True)):
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def __exit__(self, *_exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._out.close()
        self._drop_own_decisions()

    def _drop_own_decisions(self) -> None:
        """The decisions this server logged (one file per process and day) are benchmark noise: remove them."""
        for path in self._decision_files():
            if not path.stem.endswith(f"-{self.process.pid}"):
                continue
            if path in self._decisions_before:
                with path.open("r+b") as handle:  # a file of the same name existed: keep what it held
                    handle.truncate(self._decisions_before[path])
            else:
                path.unlink()
        for folder in (self.decisions, self.decisions.parent):  # folders this server created, if left empty
            if not self._decisions_before and folder.exists() and not any(folder.iterdir()):
                folder.rmdir()


class Credentials:
    """Authorization headers: the API key, and a JWT from the password flow (signed in again before it expires)."""

    def __init__(self, url: str, email: str, password: str, key: str) -> None:
        self.url, self.email, self.password, self.key = url, email, password, key
        self._token, self._renew_at = "", 0.0

    def header(self, auth: str) -> dict[str, str]:
        if auth == "none":
            return {}
        if auth == "key":
            return {"Authorization": f"Bearer {self.key}"}
        if time.monotonic() >= self._renew_at:
            answer = httpx.post(
                f"{self.url}/v1/auth/token", data={"username": self.email, "password": self.password}, timeout=30
            )
            answer.raise_for_status()
            body = answer.json()
            self._token, self._renew_at = body["access_token"], time.monotonic() + body["expires_in"] / 2
        return {"Authorization": f"Bearer {self._token}"}


# --- load ---------------------------------------------------------------------------------------------------------


async def load(
    url: str, endpoint: Endpoint, headers: dict[str, str], clients: int, seconds: float, requests: int, row: Row
) -> None:
    """`clients` concurrent loops of one request after another until `seconds` pass or `requests` were sent."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:
        sent = 0
        started = time.perf_counter()
        deadline = started + seconds

        async def one_client() -> None:
            nonlocal sent
            while sent < requests and time.perf_counter() < deadline:
                sent += 1
                began = time.perf_counter()
                try:
                    answer = await client.request(endpoint.method, endpoint.path, json=endpoint.body)
                    status = str(answer.status_code)
                except httpx.HTTPError as error:
                    status = type(error).__name__
                row.latencies_ms.append((time.perf_counter() - began) * 1000)
                row.statuses[status] += 1

        await asyncio.gather(*(one_client() for _ in range(clients)))
        row.seconds = time.perf_counter() - started


def run_row(server: Server, credentials: Credentials, endpoint: Endpoint, clients: int, seconds, requests) -> Row:
    row = Row(endpoint, clients)
    headers = credentials.header(endpoint.auth)
    cpu_before, client_before = server.cpu_seconds(), time.process_time()
    asyncio.run(load(server.url, endpoint, headers, clients, seconds, requests, row))
    row.server_cpu_s = server.cpu_seconds() - cpu_before
    row.client_cpu_s = time.process_time() - client_before
    return row


# --- load with wrk ------------------------------------------------------------------------------------------------

WRK_REPORT = re.compile(r"^aioa-wrk (.*)$", re.MULTILINE)
WRK_FIELDS = ("requests", "duration_us", "p50_us", "p95_us", "p99_us", "max_us")
WRK_ERRORS = ("status", "connect", "read", "write", "timeout")  # status: answers >= 400, as wrk counts them


def lua_string(text: str) -> str:
    """`text` as a Lua string literal (every byte that is not plain printable ASCII escaped as \\ddd)."""
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in b'"\\' else f"\\{b:03d}" for b in text.encode()) + '"'


def wrk_script(endpoint: Endpoint, headers: dict[str, str]) -> str:
    """The request (method, headers, body) and a `done()` that prints one parseable line of the run's numbers."""
    lines = [f"wrk.method = {lua_string(endpoint.method)}"]
    all_headers = dict(headers)
    if endpoint.body is not None:
        lines.append(f"wrk.body = {lua_string(json.dumps(endpoint.body, separators=(',', ':')))}")
        all_headers["Content-Type"] = "application/json"
    lines += [f"wrk.headers[{lua_string(name)}] = {lua_string(value)}" for name, value in all_headers.items()]
    fields = " ".join(f"{name}=%.0f" for name in (*WRK_FIELDS, *WRK_ERRORS))
    lines.append(f"""
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("aioa-wrk {fields}\\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    errors.status, errors.connect, errors.read, errors.write, errors.timeout))
end
""")
    return "\n".join(lines)


def parse_wrk(output: str) -> dict[str, int]:
    """The numbers `done()` printed; ValueError when the line is missing or incomplete."""
    found = WRK_REPORT.findall(output)
    if not found:
        raise ValueError("no 'aioa-wrk' line in wrk's output")
    values = dict(pair.partition("=")[::2] for pair in found[-1].split())
    missing = [name for name in (*WRK_FIELDS, *WRK_ERRORS) if not values.get(name, "").isdigit()]
    if missing:
        raise ValueError(f"wrk's report lacks a count for {', '.join(missing)}: {found[-1]}")
    return {name: int(values[name]) for name in (*WRK_FIELDS, *WRK_ERRORS)}


def run_wrk_row(server: Server, credentials: Credentials, endpoint: Endpoint, clients: int, seconds: float) -> dict:
    """One row with wrk for `seconds`: the same shape as `Row.summary()`, or a row with `error` when wrk failed."""
    base = {"endpoint": endpoint.label, "auth": endpoint.auth, "clients": clients, "client": "wrk"}
    headers = credentials.header(endpoint.auth)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="aioa-wrk-", delete=False) as script:
        script.write(wrk_script(endpoint, headers))
    command = [
        *("wrk", "-t", str(min(clients, WRK_THREADS)), "-c", str(clients)),
        *("-d", f"{max(1, round(seconds))}s", "--timeout", WRK_TIMEOUT, "-s", script.name),
        server.url + endpoint.path,
    ]
    cpu_before, children_before = server.cpu_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
        output = done.stdout + done.stderr
        if done.returncode != 0:
            raise ValueError(f"wrk exited with {done.returncode}: {output[-500:]}")
        report = parse_wrk(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        return judged(endpoint, base | {"error": f"{type(error).__name__}: {error}"})
    finally:
        Path(script.name).unlink(missing_ok=True)
    server_cpu_s = server.cpu_seconds() - cpu_before
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu_s = (children_after.ru_utime - children_before.ru_utime) + (
        children_after.ru_stime - children_before.ru_stime
    )
    requests, run_seconds = report["requests"], report["duration_us"] / 1e6
    errors = {name: report[name] for name in WRK_ERRORS if report[name]}
    result = {
        **base,
        "requests": requests,
        "errors": sum(errors.values()),
        "statuses": {f"wrk {name} errors": count for name, count in errors.items()},
        "seconds": round(run_seconds, 3),
        "requests_per_s": round(requests / run_seconds, 1) if run_seconds else 0.0,
        "p50_ms": round(report["p50_us"] / 1000, 2),
        "p95_ms": round(report["p95_us"] / 1000, 2),
        "p99_ms": round(report["p99_us"] / 1000, 2),
        "max_ms": round(report["max_us"] / 1000, 2),
        "server_cpu_s": round(server_cpu_s, 2),
        "server_cpu_ms_per_request": round(server_cpu_s * 1000 / requests, 2) if requests else None,
        "client_cpu_s": round(client_cpu_s, 2),
        "client_cpu_ms_per_request": round(client_cpu_s * 1000 / requests, 2) if requests else None,
    }
    return judged(endpoint, result)


def check_answer(server: Server, credentials: Credentials, endpoint: Endpoint) -> str:
    """One request, its answer checked: what the rows below measure is a real answer, not an error page."""
    answer = httpx.request(
        endpoint.method,
        server.url + endpoint.path,
        headers=credentials.header(endpoint.auth),
        json=endpoint.body,
        timeout=120,
    )
    if endpoint.path == "/v1/route" and answer.status_code == 503:
        return "no router"
    if answer.status_code != 200:
        raise SystemExit(
            f"{endpoint.label} ({endpoint.auth}): {answer.status_code} {answer.text[:500]}\n"
            f"the server log ends with:\n{server.log.read_text()[-3000:]}"
        )
    body = answer.json()
    if endpoint.path == "/v1/reports/daily":
        return f"{len(body)} days, {answer.headers.get('content-length')} bytes"
    if endpoint.path == "/v1/kpis":
        return f"{body['current']['calls']:,.0f} calls"
    if endpoint.path == "/v1/route":
        return f"{body['route']} → {body['target']} (router {body['router_version']})"
    return body.get("status", "")


# --- one request path, step by step, in this process --------------------------------------------------------------


def profile_request_path(home: Path, database_url: str, key: str, email: str, password: str, runs: int) -> dict:
    """Each step the API runs for `GET /v1/reports/daily` and `GET /v1/kpis` (auth, rate limit, scope, reader, query,
    JSON, audit append) and for `POST /v1/route`, timed `runs` times in this process, then cProfile of the whole
    report path. Decisions go to a scratch home here (same router)."""
    from apps.api.deps import _rate_limit
    from apps.api.reader import snapshot_connection
    from fastapi.responses import JSONResponse

    from aioa.analytics import Filters, queries
    from aioa.identity import accounts, audit, tokens
    from aioa.identity.audit_writer import AuditWriter
    from aioa.identity.authn import authenticate
    from aioa.identity.permissions import scope_for
    from aioa.reports import usage_report
    from aioa.settings import Settings
    from aioa.warehouse.connection import TimedReader

    settings = Settings(
        home=home,
        database_url=database_url,
        api_requests_per_minute_per_key=int(UNLIMITED_PER_MINUTE),
        api_requests_per_minute_per_tenant=int(UNLIMITED_PER_MINUTE),
    )
    jwt_header = f"Bearer {tokens.issue_tokens(settings, accounts.sign_in(settings, email, password)).access_token}"
    key_header = f"Bearer {key}"
    principal = authenticate(settings, jwt_header)
    scope = scope_for(principal)

    def reader() -> TimedReader:
        connection, _ = snapshot_connection(settings)
        return TimedReader(connection.cursor(), settings.reader_statement_timeout_s)

    report_rows = usage_report(reader(), "daily", scope=scope)

    entry = {
        "actor": principal,
        "action": "api GET /v1/reports/{kind}",
        "org_id": principal.org_id,
        "target": "/v1/reports/daily",
        "detail": {"status": 200, "query": {}, "rows": len(report_rows)},
    }
    writer = AuditWriter(settings)

    def audit_append() -> None:  # what a request pays: queue the entry (the writer thread appends in batches)
        writer.submit(**entry)

    def audit_batch() -> None:  # what the writer pays for 100 requests' entries: one transaction
        audit.append_entries(settings, [audit.new_entry(**entry) for _ in range(100)])

    steps: dict[str, Callable[[], object]] = {
        "authenticate JWT (EdDSA verify; key, account, session rows cached 5 s)": lambda: authenticate(
            settings, jwt_header
        ),
        "authenticate API key (SHA-256; row cached 5 s)": lambda: authenticate(settings, key_header),
        "rate limit (2 in-process buckets)": lambda: _rate_limit(settings, principal),
        "tenant scope": lambda: scope_for(principal),
        "snapshot reader (cursor)": reader,
        "daily report query": lambda: usage_report(reader(), "daily", scope=scope),
        "daily report JSON body": lambda: JSONResponse(report_rows).body,
        "kpis query": lambda: queries.kpis(reader(), Filters(), scope),
        "audit: queue one entry (on the request path)": audit_append,
        "audit: append 100 queued entries (writer thread, one transaction)": audit_batch,
    }
    scratch = Path(tempfile.mkdtemp(prefix="aioa-route-"))
    try:
        from ml.routing.predict import RouterUnavailable, route

        route_settings = settings.model_copy(update={"home": scratch, "mlflow_tracking_uri": settings.mlflow_uri})
        try:
            route({**ROUTE_TASK, "org_id": principal.org_id}, route_settings, explore=True, log=True)
            steps["route() with exploration + decision log"] = lambda: route(
                {**ROUTE_TASK, "org_id": principal.org_id}, route_settings, explore=True, log=True
            )
        except RouterUnavailable:
            pass
        timed = {}
        for name, step in steps.items():
            step()
            wall, cpu = [], []
            for _ in range(runs):
                began, cpu_began = time.perf_counter(), time.process_time()
                step()
                wall.append((time.perf_counter() - began) * 1000)
                cpu.append((time.process_time() - cpu_began) * 1000)
            timed[name] = {
                "p50_ms": round(statistics.median(wall), 3),
                "p95_ms": round(float(np.percentile(wall, 95)), 3),
                "cpu_p50_ms": round(statistics.median(cpu), 3),
            }

        def report_path() -> None:
            who = authenticate(settings, jwt_header)
            _rate_limit(settings, who)
            rows = usage_report(reader(), "daily", scope=scope_for(who))
            JSONResponse(rows)
            audit_append()

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(runs):
            report_path()
        profiler.disable()
    finally:
        from ml.routing.decisions import flush_all

        flush_all()
        writer.close()
        shutil.rmtree(scratch, ignore_errors=True)
    stats = pstats.Stats(profiler)
    top = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:15]  # by own time
    return {
        "runs": runs,
        "steps": timed,
        "report_path_top_own_time": [
            {
                "function": f"{Path(file).name}:{line} {name}",
                "calls_per_request": round(calls / runs, 1),
                "own_ms_per_request": round(own * 1000 / runs, 3),
                "cumulative_ms_per_request": round(cumulative * 1000 / runs, 3),
            }
            for (file, line, name), (_primitive, calls, own, cumulative, _callers) in top
        ],
    }


# --- output -------------------------------------------------------------------------------------------------------


def print_rows(rows: list[dict], info: dict, seconds: float, requests: int) -> None:
    table = Table(
        title=f"aioa serve, auth on: snapshot {info['snapshot']} ({info['calls']:,} calls; org {info['org']}: "
        f"{info['calls_per_org'][info['org']]:,}), each row ≤ {seconds:g} s or {requests:,} requests (wrk: {seconds:g} s)"
    )
    for column in (
        "endpoint",
        "auth",
        "clients",
        "client",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "server CPU s",
        "CPU ms/req",
        "client CPU ms/req",
        "targets",
    ):
        table.add_column(column, justify="left" if column in ("endpoint", "auth", "client", "targets") else "right")
    for row in rows:
        if row.get("skipped") or row.get("error"):
            note = row.get("skipped") or f"[red]{escape(row['error'][:200])}[/]"
            table.add_row(escape(row["endpoint"]), row["auth"], str(row["clients"]), row["client"], *[""] * 9, note)
            continue
        verdicts = " ".join(
            f"[green]{escape(name)}: met[/]" if met else f"[red]{escape(name)}: missed[/]"
            for name, met in row["targets"].items()
        )
        table.add_row(
            escape(row["endpoint"]),
            row["auth"],
            str(row["clients"]),
            row["client"],
            f"{row['requests']:,}",
            f"[red]{row['errors']}[/]" if row["errors"] else "0",
            f"{row['requests_per_s']:.0f}",
            f"{row['p50_ms']:.1f}",
            f"{row['p95_ms']:.1f}",
            f"{row['p99_ms']:.1f}",
            f"{row['server_cpu_s']:.1f}",
            f"{row['server_cpu_ms_per_request']:.1f}",
            f"{row['client_cpu_ms_per_request']:.1f}",
            verdicts,
        )
    console.print(table)


def print_profile(profile: dict) -> None:
    table = Table(title=f"one request path in process, step by step ({profile['runs']} runs each)")
    for column in ("step", "p50 ms", "p95 ms", "CPU p50 ms"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for name, timed in profile["steps"].items():
        table.add_row(name, f"{timed['p50_ms']:.2f}", f"{timed['p95_ms']:.2f}", f"{timed['cpu_p50_ms']:.2f}")
    console.print(table)
    top = Table(title="GET /v1/reports/daily path (auth, rate limit, query, JSON, audit): cProfile, top own time")
    for column in ("function", "calls/req", "own ms/req", "cumulative ms/req"):
        top.add_column(column, justify="left" if column == "function" else "right")
    for entry in profile["report_path_top_own_time"]:
        top.add_row(
            escape(entry["function"]),
            f"{entry['calls_per_request']:g}",
            f"{entry['own_ms_per_request']:.3f}",
            f"{entry['cumulative_ms_per_request']:.3f}",
        )
    console.print(top)


def one_line(row: dict) -> str:
    """A row as it finishes, so a long run shows progress."""
    head = f"{escape(row['endpoint'])} ({row['auth']}) x{row['clients']} {row['client']}: "
    if "skipped" in row:
        return head + row["skipped"]
    if "error" in row:
        return head + f"[red]{escape(row['error'])}[/]"
    return head + (
        f"{row['requests_per_s']:.0f} req/s, p95 {row['p95_ms']:.1f} ms, errors {row['errors']}, "
        f"client CPU {row['client_cpu_s']:.2f} s"
    )


def choose_client(name: str) -> str:
    """`auto` is wrk when it is on PATH, else the Python client; an explicit `wrk` must be there."""
    if name == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if name not in ("wrk", "python"):
        raise SystemExit(f"--client: {name!r} is not auto, wrk or python")
    if name == "wrk" and not shutil.which("wrk"):
        raise SystemExit("--client wrk: no wrk on PATH (Debian/Ubuntu: apt-get install wrk)")
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--home",
        type=Path,
        default=Path(os.environ.get("AIOA_HOME", ROOT / "data")),
        help="AIOA_HOME whose published snapshot is served (default: $AIOA_HOME or data/, built by `make demo`). "
        "Without a snapshot there, a small home is built under --work.",
    )
    parser.add_argument("--work", type=Path, help="Folder for a built small home (kept, reused); default: temporary.")
    parser.add_argument("--clients", default=",".join(map(str, CLIENTS)), help="Concurrent clients, comma-separated.")
    parser.add_argument("--seconds", type=float, default=10.0, help="Longest run per row.")
    parser.add_argument("--requests", type=int, default=5000, help="Most requests per row.")
    parser.add_argument("--warmup", type=int, default=200, help="Untimed requests per endpoint first (50 clients).")
    parser.add_argument("--workers", type=int, default=1, help="`aioa serve --workers N` (one per core).")
    parser.add_argument(
        "--client",
        default="auto",
        help="Load generator: auto (wrk when on PATH, else python), wrk, python, or several comma-separated "
        "(e.g. wrk,python: both on every row, A/B, against the same server).",
    )
    parser.add_argument("--profile", action="store_true", help="Also time one request path step by step (cProfile).")
    parser.add_argument("--profile-runs", type=int, default=200)
    parser.add_argument("--out", type=Path, default=RESULTS / "api.json")
    args = parser.parse_args()
    clients = [int(value) for value in args.clients.split(",")]
    load_clients = [choose_client(name.strip()) for name in args.client.split(",")]
    console.print(
        f"load generator: {', '.join(load_clients)}" + (f" ({shutil.which('wrk')})" if "wrk" in load_clients else "")
    )

    scratch = Path(tempfile.mkdtemp(prefix="aioa-api-bench-"))
    try:
        home, built = args.home, False
        if not has_snapshot(home):
            console.print(f"{home} has no published snapshot (run `make demo` or `make pipeline` for data/)")
            home, built = build_small_home(args.work or scratch), True
        info = describe_home(home) | {"built_small_home": built}
        console.print(
            f"home {home}: snapshot {info['snapshot']}, {info['calls']:,} calls, days {info['days']}, "
            f"orgs {', '.join(info['calls_per_org'])}; benchmarked as an admin and a key of org {info['org']}"
        )
        database_url = f"sqlite:///{scratch / 'identity.db'}"
        email, password, key = make_identities(home, database_url, info["org"])
        rows, answers = [], {}
        load_before = os.getloadavg()
        with Server(home, database_url, scratch / "server.log", args.workers) as server:
            credentials = Credentials(server.url, email, password, key)
            for endpoint in ENDPOINTS:  # checked answers, then warm-up: every pool thread opens its snapshot reader
                answers[f"{endpoint.label} ({endpoint.auth})"] = answer = check_answer(server, credentials, endpoint)
                console.print(f"{endpoint.label} ({endpoint.auth}): {answer}")
                if answer != "no router":
                    run_row(server, credentials, endpoint, 50, 60.0, args.warmup)
            order = list(load_clients)
            for count in clients:
                for endpoint in ENDPOINTS:
                    for load_client in order:
                        if answers[f"{endpoint.label} ({endpoint.auth})"] == "no router":
                            measured = {"skipped": "no router"}
                        elif load_client == "wrk":
                            measured = run_wrk_row(server, credentials, endpoint, count, args.seconds)
                        else:
                            measured = run_row(server, credentials, endpoint, count, args.seconds, args.requests)
                            measured = measured.summary()
                        labels = {"endpoint": endpoint.label, "auth": endpoint.auth, "clients": count}
                        row = labels | {"client": load_client} | measured
                        rows.append(row)
                        console.print(one_line(row))
                    order.reverse()  # A/B, then B/A on the next row: a drift in the load hits both
            server_log_tail = server.log.read_text()[-2000:] if any(r.get("errors") for r in rows) else ""
        load_after = os.getloadavg()
        print_rows(rows, info, args.seconds, args.requests)
        profile = None
        if args.profile:
            profile = profile_request_path(home, database_url, key, email, password, args.profile_runs)
            print_profile(profile)
        verdicts = {
            f"{row['endpoint']} ({row['auth']}) x{row['clients']} {row['client']}: {name}": met
            for row in rows
            for name, met in row.get("targets", {}).items()
        }
        missed = [name for name, met in verdicts.items() if not met]
        console.print(
            f"{len(verdicts)} target checks: "
            + (f"[red]{len(missed)} missed[/]: {escape('; '.join(missed))}" if missed else "[green]all met[/]")
        )
        console.print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} ({os.cpu_count()} cores)")
        if server_log_tail:
            console.print(f"[red]errors: the server log ends with[/]\n{escape(server_log_tail)}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    **info,
                    "cpu_count": os.cpu_count(),
                    "workers": args.workers,
                    "load_generators": load_clients,
                    "wrk": shutil.which("wrk") if "wrk" in load_clients else None,
                    "load_average_before": load_before,
                    "load_average_after": load_after,
                    "seconds_per_row": args.seconds,
                    "requests_per_row": args.requests,
                    "warmup_requests": args.warmup,
                    "targets": {
                        "p95_ms_at_10_clients": P95_TARGET_MS,
                        "requests_per_s": RPS_TARGET,
                        "route_p99_ms_at_1_client": ROUTE_P99_TARGET_MS,
                    },
                    "answers": answers,
                    "rows": rows,
                    "missed": missed,
                    "profile": profile,
                },
                indent=2,
                default=str,
            )
        )
        console.print(f"wrote {args.out}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
