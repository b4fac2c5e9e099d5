"""Background jobs on a real Celery worker process, against the real Redis and RabbitMQ on this machine (a queue of
its own per test, the worker always stopped): a report rendered on the worker equals one rendered in-process, a
notification reaches a real HTTP receiver, a failed one raises at the caller; without a broker the job runs here."""

from __future__ import annotations

import json
import sys

import pytest

from aioa.jobs.run import run_job
from aioa.settings import Settings
from tests.jobs.worker import BROKERS, celery_worker
from tests.mcp.conftest import FAKE
from tests.webhooks.receiver import Receiver


@pytest.fixture(params=sorted(BROKERS))
def worker(request, built_home, tmp_path):
    with celery_worker(BROKERS[request.param], built_home, tmp_path) as settings:
        yield settings


def test_a_report_rendered_on_the_worker_equals_one_rendered_here(worker):
    arguments = {"org_id": "acme", "template": "team-weekly", "output_format": "json"}
    remote = run_job(worker, "render_report", **arguments)
    local = run_job(worker.model_copy(update={"celery_broker_url": None}), "render_report", **arguments)
    assert {key: remote[key] for key in ("file_name", "start", "end")} == {
        key: local[key] for key in ("file_name", "start", "end")
    }
    assert abs(remote["size"] - local["size"]) <= 8  # the same JSON but its generated_at stamp
    assert remote["size"] > 500


def test_a_notification_is_delivered_by_the_worker_and_a_failure_raises_here(worker):
    with Receiver() as receiver:
        url = receiver.url.replace("http", "json", 1)
        outcome = run_job(worker, "notify", url=url, title="Spend spike", body="acme spent 3x its usual")
    assert outcome["status"] == "sent" and outcome["channel"].startswith("json://127.0.0.1")
    assert len(receiver.requests) == 1 and "Spend spike" in receiver.requests[0][1]
    with pytest.raises(Exception, match="127.0.0.1"):  # noqa: PT011 - Celery rebuilds the worker's exception
        run_job(worker, "notify", url="json://127.0.0.1:9/never", title="t", body="b")


def test_without_a_broker_the_job_runs_in_this_process(tmp_path):
    with Receiver() as receiver:
        outcome = run_job(
            Settings(home=tmp_path, celery_broker_url=None),
            "notify",
            url=receiver.url.replace("http", "json", 1),
            title="here",
            body="in-process",
        )
    assert outcome["status"] == "sent" and len(receiver.requests) == 1


def test_the_dagster_mcp_probe_job_probes_on_the_worker(tmp_path, monkeypatch):
    """The probe job submits the pass; the worker (its own AIOA_MCP_USER_HOME) probes and stores under the org."""
    from orchestration.defs.mcp.jobs import mcp_probe_job
    from orchestration.defs.mcp.resources import McpMonitorResource

    from aioa.mcp.store import McpStore

    user = tmp_path / "user"
    user.mkdir()
    servers = {"fake-stdio": {"command": sys.executable, "args": [str(FAKE), "stdio"]}}
    (user / ".claude.json").write_text(json.dumps({"mcpServers": servers}))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    home = tmp_path / "home"
    with celery_worker(BROKERS["redis"], home, tmp_path, AIOA_MCP_USER_HOME=str(user)) as settings:
        for name, value in {"AIOA_HOME": str(home), "AIOA_DATABASE_URL": settings.database_url}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AIOA_CELERY_BROKER_URL", settings.celery_broker_url)
        monkeypatch.setenv("AIOA_CELERY_QUEUE", settings.celery_queue)
        monkeypatch.setenv("AIOA_MCP_USER_HOME", str(tmp_path / "nobody"))  # this process knows no servers
        resource = McpMonitorResource.for_settings(Settings(), org_id="acme")
        result = mcp_probe_job.execute_in_process(resources={"mcp_monitor": resource})
    assert result.success
    assert result.output_for_node("probe_mcp_servers") == {"up": 1, "down": 0, "skipped": 0, "tool_changes": 0}
    store = McpStore(Settings(home=home))
    try:
        assert {row["name"]: row["last_status"] for row in store.summary("acme")} == {"fake-stdio": "up"}
    finally:
        store.close()
