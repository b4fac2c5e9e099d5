"""Buffered routing decisions are written when the API shuts down (uvicorn re-raises SIGTERM, so atexit never runs)."""

from __future__ import annotations

import json

from apps.api.main import create_app
from fastapi.testclient import TestClient
from ml.routing.decisions import decision_log, decisions_dir

from aioa.settings import Settings


def test_shutdown_writes_the_buffered_decisions(tmp_path, monkeypatch):
    monkeypatch.setenv("AIOA_AUTH", "off")
    settings = Settings(home=tmp_path)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        for number in range(3):  # fewer than a full buffer: nothing is on disk yet
            decision_log(settings).append({"decision_id": f"d{number}", "org_id": "acme"})
        assert not list(decisions_dir(settings).glob("*.jsonl"))
    lines = [
        json.loads(line) for path in decisions_dir(settings).glob("*.jsonl") for line in path.read_text().splitlines()
    ]
    assert [line["decision_id"] for line in lines] == ["d0", "d1", "d2"]
