"""A real `aioa serve`: `aioa doctor --json` reads its /metrics into components and SLOs, and SIGTERM in the middle
of a request still answers it (uvicorn drains in-flight requests, so rolling updates drop nothing)."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from aioa.cli import app
from tests.api.conftest import copy_home
from tests.servers import free_port, running, url_answers_ok

AIOA = str(Path(sys.executable).with_name("aioa"))
BODY = b"username=nobody%40acme.test&password=not-the-password&grant_type=password"


@pytest.fixture(scope="module")
def server(built_home, tmp_path_factory):
    """One server for the module: the doctor test reads it, then the drain test stops it (in that order)."""
    home = copy_home(built_home, tmp_path_factory.mktemp("serve") / "home")
    environment = os.environ | {"AIOA_HOME": str(home), "AIOA_AUTH": "on"}
    environment.pop("AIOA_DATABASE_URL", None)
    port = free_port()
    command = [AIOA, "serve", "--port", str(port)]
    with running(command, env=environment, ready=url_answers_ok(f"http://127.0.0.1:{port}/healthz")) as process:
        yield process, port, home


def test_doctor_json_reports_components_and_slos_from_the_running_api(server):
    process, port, home = server
    base = f"http://127.0.0.1:{port}"
    for _ in range(4):
        assert httpx.get(f"{base}/v1/reports/daily", timeout=30).status_code == 401
    assert httpx.get(f"{base}/no/such/page", timeout=30).status_code == 404
    done = CliRunner().invoke(app, ["doctor", "--json"], env={"AIOA_HOME": str(home), "AIOA_API_URL": base})
    report = json.loads(done.stdout)
    components = {component["name"]: component for component in report["components"]}
    assert components["api"]["status"] == "ok" and components["api"]["detail"] == f"{base} ready"
    assert components["snapshot"]["status"] == "ok"
    slos = {slo["name"]: slo for slo in report["slos"]}
    availability = slos["availability"]
    assert (availability["requests"], availability["errors"]) == (4, 0)  # /v1 only: no probes, scrapes or 404 paths
    assert availability["value"] == 1.0 and availability["error_budget_left"] == 1.0
    assert slos["p95 latency"]["value_s_at_most"] is not None
    assert slos["freshness"]["status"] == "ok" and 0 <= slos["freshness"]["snapshot_age_hours"] < 26


def test_sigterm_drains_the_request_in_flight(server):
    process, port, _ = server
    request = socket.create_connection(("127.0.0.1", port), timeout=60)
    request.sendall(
        b"POST /v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY[:20]
    )
    time.sleep(0.5)  # the server has the headers: the request is in flight, its body still coming
    process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    while True:  # shutdown started: the listening socket is closed to new connections
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            break
        assert time.monotonic() < deadline, "the server still accepts new connections 30 s after SIGTERM"
        time.sleep(0.2)
    assert process.poll() is None  # ... but it waits for the request in flight
    request.sendall(BODY[20:])
    answer = b""
    while chunk := request.recv(65536):
        answer += chunk
    request.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401"), answer[:300]
    assert b"connection: close" in head.lower()
    assert json.loads(body)["detail"]
    assert process.wait(timeout=60) in (0, -signal.SIGTERM)
