"""Live data speed: OTLP receiver throughput and the watcher's delay from append to queryable.

1. Receiver: `aioa serve` (auth on, one worker, request rate limits raised) on a free loopback port; 4 exporter
   processes, each with the OpenTelemetry SDK's `OTLPSpanExporter` (HTTP protobuf), send batches of 512 GenAI spans
   for `--seconds`. Spans accepted per second (target >= 5,000 on 2 cores).
2. Watcher: `aioa watch --publish-interval 1` on a small transcript tree; a line is appended every 2 s and the
   published snapshot is polled until the line's tokens are in `aioa report`'s numbers. p50/p95 of the delay
   (target p95 < 5 s).

Prints a table and writes benchmarks/results/live.json. Not a test: timings depend on the machine (report its load).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "live.json"
SPANS_PER_BATCH = 512


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_http(url: str, timeout_s: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout_s} s")


def exporter_process(endpoint: str, key: str, seconds: float, worker: int, results) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    exporter = OTLPSpanExporter(endpoint=endpoint, headers={"authorization": f"Bearer {key}"})
    sent = failed = 0
    deadline = time.monotonic() + seconds
    for index in range(SPANS_PER_BATCH):  # one batch, built once: the run measures the receiver, not the tracer
        with tracer.start_as_current_span("chat") as span:
            span.set_attributes(
                {
                    "gen_ai.request.model": "claude-sonnet-4-5",
                    "gen_ai.usage.input_tokens": 100 + index,
                    "gen_ai.usage.output_tokens": 10,
                    "gen_ai.response.id": f"msg_{worker}_{index}",
                }
            )
    batch = memory.get_finished_spans()
    while time.monotonic() < deadline:
        if exporter.export(batch) == SpanExportResult.SUCCESS:
            sent += SPANS_PER_BATCH
        else:
            failed += SPANS_PER_BATCH
    results.put((sent, failed))


def receiver_throughput(seconds: float, exporters: int) -> dict:
    home = Path(tempfile.mkdtemp(prefix="aioa-live-bench-"))
    env = os.environ | {
        "AIOA_HOME": str(home),
        "AIOA_AUTH": "on",
        # the per-key and per-org request buckets (600 and 3,000 a minute) out of the way: they would cap 4
        # exporters at 10 requests (5,120 spans) a second after the first burst; the buckets are still taken
        "AIOA_API_REQUESTS_PER_MINUTE_PER_KEY": str(10**9),
        "AIOA_API_REQUESTS_PER_MINUTE_PER_TENANT": str(10**9),
    }
    key = json.loads(
        subprocess.run(
            [sys.executable, "-m", "aioa.cli", "keys", "create", "--org", "bench", "--scope", "ingest", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    plaintext = key["key"]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "aioa.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        results = multiprocessing.Queue()
        workers = [
            multiprocessing.Process(
                target=exporter_process,
                args=(f"http://127.0.0.1:{port}/v1/traces", plaintext, seconds, worker, results),
            )
            for worker in range(exporters)
        ]
        import psutil

        server_process = psutil.Process(server.pid)
        cpu_before = sum(server_process.cpu_times()[:2])
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        totals = [results.get(timeout=seconds + 120) for _ in workers]
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
        server_cpu = sum(server_process.cpu_times()[:2]) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)
    sent = sum(total[0] for total in totals)
    return {
        "exporters": exporters,
        "seconds": round(elapsed, 2),
        "spans": sent,
        "failed": sum(t[1] for t in totals),
        "spans_per_s": round(sent / seconds),  # each exporter sends for `seconds` after its start-up
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_us_per_span": round(server_cpu / max(sent, 1) * 1e6, 1),
    }


def watcher_delay(lines: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from tests.live.test_watch import assistant_line, input_tokens_published

    from aioa.generate import generate
    from aioa.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="aioa-watch-bench-"))
    generate(work / "sample", size="small", seed=3)
    users = sorted((work / "sample" / "claude-code").iterdir())
    claude = shutil.copytree(users[0] / ".claude", work / "logs" / ".claude")
    home = work / "home"
    home.mkdir()
    env = os.environ | {"AIOA_HOME": str(home), "AIOA_CLAUDE_CODE_DIRS": str(claude)}
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aioa.cli",
            "watch",
            "--publish-interval",
            "1",
            "--otlp-port",
            "0",
            "--rebuild-minutes",
            "0",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    settings = Settings(home=home)
    delays = []
    try:
        deadline = time.monotonic() + 300
        while input_tokens_published(settings) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        transcript = sorted(Path(claude).rglob("*.jsonl"))[0]
        for number in range(lines):
            before = input_tokens_published(settings)
            with transcript.open("a") as handle:
                handle.write(assistant_line(f"msg_bench_{number}", transcript.stem, 777, 1) + "\n")
            appended = time.monotonic()
            while input_tokens_published(settings) != before + 777:
                if time.monotonic() - appended > 60:
                    raise RuntimeError("a line was not published within 60 s")
                time.sleep(0.05)
            delays.append(time.monotonic() - appended)
            time.sleep(2)
    finally:
        watcher.terminate()
        watcher.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    delays.sort()
    return {
        "lines": lines,
        "p50_s": round(statistics.median(delays), 2),
        "p95_s": round(delays[max(0, int(len(delays) * 0.95) - 1)], 2),
        "max_s": round(delays[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20, help="How long the exporters send.")
    parser.add_argument("--exporters", type=int, default=4)
    parser.add_argument("--lines", type=int, default=20, help="Lines appended while the watcher runs.")
    args = parser.parse_args()
    load = os.getloadavg()
    receiver = receiver_throughput(args.seconds, args.exporters)
    watch = watcher_delay(args.lines)
    print(f"machine load (1/5/15 min): {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, {os.cpu_count()} cores")
    print(f"{'measure':<44}{'result':>14}{'target':>14}")
    print(
        f"{'OTLP spans/s, ' + str(args.exporters) + ' exporters (protobuf)':<44}{receiver['spans_per_s']:>14,}"
        f"{'>= 5,000':>14}"
    )
    print(f"{'receiver CPU per span, us':<44}{receiver['server_cpu_us_per_span']:>14}{'<= 200':>14}")
    print(f"{'watcher append -> published, p50 s':<44}{watch['p50_s']:>14}{'':>14}")
    print(f"{'watcher append -> published, p95 s':<44}{watch['p95_s']:>14}{'< 5':>14}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"load": load, "receiver": receiver, "watcher": watch}, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
