"""GET /v1/reports/{kind} answers exactly what `aioa report KIND --json` prints for the same snapshot; paging by
limit/offset with X-Total-Count; a newly published snapshot is read on the next request; every read is audited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from apps.api.main import create_app
from fastapi.testclient import TestClient

from aioa.identity import audit
from aioa.warehouse.snapshots import current_snapshot
from tests.api.conftest import ORG, publish_without_a_day

AIOA = str(Path(sys.executable).with_name("aioa"))


def _cli_report(home: Path, *arguments: str) -> list[dict]:
    environment = os.environ | {"AIOA_HOME": str(home)}
    done = subprocess.run(
        [AIOA, "report", *arguments, "--json"], capture_output=True, text=True, env=environment, check=True
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize("kind", ["daily", "model"])
def test_report_json_equals_the_cli(api, kind):
    answer = api.client.get(f"/v1/reports/{kind}", headers=api.headers["admin"])
    assert answer.status_code == 200
    assert answer.json() == _cli_report(api.home, kind, "--org", ORG)
    assert int(answer.headers["X-Total-Count"]) == len(answer.json())


def test_report_filters_and_pages_like_the_cli(api):
    days = [row["date"] for row in api.client.get("/v1/reports/daily", headers=api.headers["admin"]).json()]
    since, until = days[2], days[-3]
    params = {"since": since, "until": until, "timezone": "America/New_York"}
    answer = api.client.get("/v1/reports/daily", params=params, headers=api.headers["key_read"]).json()
    cli = _cli_report(
        api.home, "daily", "--org", ORG, "--since", since, "--until", until, "--timezone", params["timezone"]
    )
    assert answer == cli and len(cli) >= 3
    page = api.client.get("/v1/reports/daily", params=params | {"limit": 2, "offset": 1}, headers=api.headers["admin"])
    assert page.json() == cli[1:3]
    assert page.headers["X-Total-Count"] == str(len(cli))
    bad = api.client.get("/v1/reports/daily", params={"timezone": "Mars/Olympus"}, headers=api.headers["admin"])
    assert bad.status_code == 422
    assert api.client.get("/v1/reports/weekly", headers=api.headers["admin"]).status_code == 422


def test_every_read_is_audited_with_its_rows(api):
    answer = api.client.get("/v1/reports/monthly", params={"since": "2020-01-01"}, headers=api.headers["viewer"])
    assert answer.status_code == 200
    entries = [entry for entry in audit.export(api.settings, org_id=ORG) if entry["target"] == "/v1/reports/monthly"]
    last = entries[-1]
    detail = last["detail"] if isinstance(last["detail"], dict) else json.loads(last["detail"])
    assert last["action"] == "api GET /v1/reports/{kind}" and "viewer@acme.test" in last["actor"]
    assert detail["rows"] == len(answer.json()) and detail["query"] == {"since": ["2020-01-01"]}
    denied = api.client.get("/v1/quarantine", headers=api.headers["viewer"])
    assert denied.status_code == 403
    last = [entry for entry in audit.export(api.settings, org_id=ORG) if entry["target"] == "/v1/quarantine"][-1]
    assert (json.loads(last["detail"]) if isinstance(last["detail"], str) else last["detail"])["status"] == 403


def test_a_new_snapshot_is_read_on_the_next_request(operator_settings):
    """The operator (AIOA_AUTH=off) sees every org; after a new snapshot without one day of acme's calls, the next
    request answers from it (each worker thread reopens its connection for the new version)."""
    settings = operator_settings
    with TestClient(create_app(settings)) as client:
        before = client.get("/v1/reports/daily").json()
        assert before == _cli_report(settings.home, "daily")
        acme_before = client.get("/v1/reports/daily", params={"org": ORG}).json()
        first_day = acme_before[0]["date"]
        publish_without_a_day(settings, ORG, first_day)
        acme_after = client.get("/v1/reports/daily", params={"org": ORG}).json()
        assert [row["date"] for row in acme_after] == [row["date"] for row in acme_before if row["date"] != first_day]
        assert client.get("/readyz").json()["snapshot"] == current_snapshot(settings)[0]
