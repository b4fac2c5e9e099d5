"""`aioa backup` during a real concurrent ingest, `aioa restore` into an empty home, `aioa backup verify`: every
report of the restored home equals the source's at the backed-up snapshot, and a damaged backup changes nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from aioa.cli import app
from aioa.reports import REPORT_KINDS
from tests.ingest.transcripts import assistant, write_jsonl

runner = CliRunner()

# An ingest that stops inside its batch transaction (writer lock held, rows staged, nothing committed) until told
# to go on: the backup runs exactly while the pipeline writes.
PAUSED_INGEST = """
import sys, time
from pathlib import Path
from aioa.ingest import runner
from aioa.ingest.claude_code import ClaudeCodeSource
logs, paused, go = (Path(arg) for arg in sys.argv[1:4])

def wait_for_go():
    paused.write_text("in the batch transaction")
    while not go.exists():
        time.sleep(0.05)

runner.BEFORE_COMMIT_HOOKS.append(wait_for_go)
runner.ingest(ClaudeCodeSource(), [logs])
"""


def cli(home: Path, *args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), env={"AIOA_HOME": str(home)}, input=stdin)


def reports(home: Path) -> dict[str, list]:
    answers = {}
    for kind in REPORT_KINDS:
        result = cli(home, "report", kind, "--json")
        assert result.exit_code == 0, result.output
        answers[kind] = json.loads(result.stdout)
    return answers


@pytest.fixture(scope="module")
def drill(built_home: Path, tmp_path_factory) -> dict:
    """Back up a home while an ingest holds the writer, let the ingest finish, restore into an empty home."""
    base = tmp_path_factory.mktemp("backup-drill")
    home = base / "home"
    shutil.copytree(built_home, home)
    added = cli(
        home,
        "users",
        "add",
        "ops@acme.example",
        "--org",
        "acme",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long enough password 17\n",
    )
    assert added.exit_code == 0, added.output
    before = reports(home)

    logs, paused, go = base / "late" / ".claude", base / "paused", base / "go"
    lines = [
        assistant(f"msg_late_{i}", f"req_late_{i}", output=1000 + i, ts="2026-11-20T10:00:00.000Z") for i in range(40)
    ]
    write_jsonl(logs / "projects" / "p" / "late.jsonl", lines)
    ingest = subprocess.Popen(
        [sys.executable, "-c", PAUSED_INGEST, str(logs), str(paused), str(go)],
        env={**os.environ, "AIOA_HOME": str(home)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not paused.exists():
            assert ingest.poll() is None, f"the ingest ended before its commit: {ingest.stderr.read()}"
            assert time.monotonic() < deadline, "the ingest never reached its batch transaction"
            time.sleep(0.05)
        with pytest.raises(duckdb.IOException):  # the writer really holds the warehouse
            duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
        backed_up = cli(home, "backup", str(base / "backup"), "--json")
        assert ingest.poll() is None  # still inside its transaction when the backup finished
    finally:
        go.write_text("go")
        _, errors = ingest.communicate(timeout=120)
    assert ingest.returncode == 0, errors
    assert backed_up.exit_code == 0, backed_up.output

    restored_home = base / "restored"
    restored = cli(restored_home, "restore", str(base / "backup"), "--json")
    assert restored.exit_code == 0, restored.output
    return {
        "base": base,
        "home": home,
        "backup": base / "backup",
        "restored_home": restored_home,
        "backup_report": json.loads(backed_up.stdout),
        "restore_report": json.loads(restored.stdout),
        "before": before,
        "after_ingest": reports(home),
        "restored": reports(restored_home),
    }


def test_restored_reports_equal_the_backed_up_snapshot(drill):
    late_calls = sum(row["calls"] for row in drill["after_ingest"]["daily"]) - sum(
        row["calls"] for row in drill["before"]["daily"]
    )
    assert late_calls == 40  # the concurrent ingest committed after the backup ...
    assert drill["restored"] == drill["before"]  # ... and the backup holds the state before it, whole
    assert set(drill["restored"]) == set(REPORT_KINDS)
    assert all(drill["restored"][kind] for kind in REPORT_KINDS)


def test_restore_brings_back_accounts_audit_and_dagster_runs(drill):
    home, restored_home = drill["home"], drill["restored_home"]
    users = cli(restored_home, "users", "list", "--json")
    assert [user["email"] for user in json.loads(users.stdout)] == ["ops@acme.example"]
    audit = cli(restored_home, "audit", "verify", "--json")
    assert audit.exit_code == 0 and json.loads(audit.stdout)["ok"], audit.output
    assert (restored_home / "dagster" / "history" / "runs.db").is_file()
    assert (restored_home / "attribution.yaml").read_bytes() == (home / "attribution.yaml").read_bytes()
    # the working warehouse is the restored snapshot: the next ingest starts from its manifest
    with duckdb.connect(str(restored_home / "warehouse.duckdb"), read_only=True) as connection:
        manifest_files = connection.execute("select count(*) from raw.ingest_manifest").fetchone()[0]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute("select count(*) from raw.ingest_manifest").fetchone()[0] == manifest_files + 1


def test_backup_manifest_checksums_every_file(drill):
    import hashlib

    manifest = json.loads((drill["backup"] / "MANIFEST.json").read_text())
    assert manifest["snapshot_version"] == drill["backup_report"]["snapshot_version"]
    for entry in manifest["files"]:
        data = (drill["backup"] / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["size"]
    kinds = {entry["path"].split("/")[-1]: entry["kind"] for entry in manifest["files"]}
    assert kinds["identity.db"] == "sqlite" and kinds["runs.db"] == "sqlite"
    assert not any(name.startswith("warehouse.duckdb") for name in kinds)  # the locked working file is not read
    verified = cli(drill["home"], "backup", "verify", str(drill["backup"]), "--json")
    assert verified.exit_code == 0 and json.loads(verified.stdout)["ok"]


def test_damaged_backup_fails_verify_and_restore_and_changes_nothing(drill, tmp_path):
    damaged = tmp_path / "damaged"
    shutil.copytree(drill["backup"], damaged)
    manifest = json.loads((damaged / "MANIFEST.json").read_text())
    snapshot = next(entry["path"] for entry in manifest["files"] if entry["kind"] == "warehouse")
    with (damaged / snapshot).open("r+b") as handle:  # one flipped byte in the middle, same size
        handle.seek(handle.seek(0, os.SEEK_END) // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))

    verified = cli(tmp_path, "backup", "verify", str(damaged), "--json")
    assert verified.exit_code == 1
    assert json.loads(verified.stdout)["problems"] == [f"{snapshot} does not match its checksum"]

    empty_home = tmp_path / "new-home"
    empty_home.mkdir()
    restored = cli(empty_home, "restore", str(damaged))
    assert restored.exit_code == 1
    message = " ".join(restored.output.split())
    assert "is damaged" in message and f"{snapshot} does not match its checksum" in message
    assert "Nothing was changed" in message
    assert list(empty_home.iterdir()) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["damaged", "new-home"]  # no staging folder left


def test_restore_refuses_a_home_that_is_not_empty(drill, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "attribution.yaml").write_text("orgs: []\n")
    refused = cli(home, "restore", str(drill["backup"]))
    assert refused.exit_code == 1 and "is not empty" in " ".join(refused.output.split())
    assert [path.name for path in home.iterdir()] == ["attribution.yaml"]


def test_backup_refuses_a_destination_inside_home(drill):
    refused = cli(drill["restored_home"], "backup", str(drill["restored_home"] / "backups" / "b1"))
    assert refused.exit_code == 1 and "inside AIOA_HOME" in " ".join(refused.output.split())
