"""`aioa serve` for real: uvicorn in a subprocess on a free loopback port answers /healthz, /readyz and a report
(with an API key) equal to the CLI's; with AIOA_AUTH=off it refuses any host but loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from aioa.identity import api_keys
from aioa.settings import Settings
from tests.api.conftest import ORG, copy_home
from tests.api.test_reports import _cli_report
from tests.servers import free_port, running, url_answers_ok

AIOA = str(Path(sys.executable).with_name("aioa"))


@contextmanager
def aioa_serve(environment: dict[str, str]) -> Iterator[str]:
    """`aioa serve` in a subprocess on a free loopback port, up once /healthz answers; yields its base URL and
    always stops it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running([AIOA, "serve", "--port", str(port)], env=environment, ready=url_answers_ok(f"{base}/healthz")):
        yield base


def test_aioa_serve_answers_health_and_reports(built_home, tmp_path):
    home = copy_home(built_home, tmp_path / "home")
    environment = os.environ | {"AIOA_HOME": str(home), "AIOA_AUTH": "on"}
    environment.pop("AIOA_DATABASE_URL", None)
    _info, key = api_keys.create_key(Settings(home=home), org_id=ORG, scopes=["read"], name="serve-test")
    with aioa_serve(environment) as base:
        assert httpx.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
        assert httpx.get(f"{base}/v1/reports/daily", timeout=10).status_code == 401
        report = httpx.get(f"{base}/v1/reports/daily", headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert report.status_code == 200
        assert report.json() == _cli_report(home, "daily", "--org", ORG)
        assert httpx.get(f"{base}/docs", timeout=10).status_code == 200


def test_auth_off_refuses_a_public_host(tmp_path):
    environment = os.environ | {"AIOA_HOME": str(tmp_path), "AIOA_AUTH": "off"}
    done = subprocess.run(
        [AIOA, "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "127.0.0.1" in done.stderr
