"""`aioa watch`: a line appended to a transcript reaches the published report while the watcher runs, once, and
stays counted once after the watcher restarts; the CLI runs the same watcher."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from aioa.live.watch import Watcher
from aioa.reports.usage import usage_report
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.snapshots import NoSnapshotError, open_snapshot


def assistant_line(message_id: str, session_id: str, input_tokens: int, output_tokens: int) -> str:
    """One Claude Code assistant message with usage, as the transcripts write it."""
    return json.dumps(
        {
            "parentUuid": None,
            "isSidechain": False,
            "type": "assistant",
            "sessionId": session_id,
            "cwd": "/home/zoe/src/live",
            "version": "2.1.40",
            "uuid": f"u_{message_id}",
            "timestamp": "2026-11-20T10:00:00.000Z",
            "requestId": f"req_{message_id}",
            "message": {
                "model": "claude-sonnet-4-5-20250929",
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "content": [{"type": "text", "text": "done"}],
                "usage": {
                    "input_tokens": input_tokens,
                    "output_tokens": output_tokens,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                },
            },
        }
    )


def smallest_user_tree(sample_dir: Path, target: Path) -> Path:
    """A copy of the sample's smallest `.claude` folder (one user's transcripts)."""
    users = sorted((sample_dir / "claude-code").iterdir(), key=lambda d: sum(f.stat().st_size for f in d.rglob("*")))
    return Path(shutil.copytree(users[0] / ".claude", target / users[0].name / ".claude"))


def input_tokens_published(settings: Settings) -> int | None:
    try:
        connection, _version = open_snapshot(settings)
    except NoSnapshotError:
        return None
    with connection:
        rows = usage_report(connection, "monthly", scope=TenantScope.all_orgs())
    return sum(row["input_tokens"] for row in rows)


def wait_for(condition, timeout_s: float = 90.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not true within {timeout_s} s")


@pytest.fixture
def live_home(sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, Path]:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(sample_dir / "attribution.yaml", home / "attribution.yaml")
    claude = smallest_user_tree(sample_dir, tmp_path / "logs")
    monkeypatch.setenv("AIOA_HOME", str(home))
    monkeypatch.setenv("AIOA_CLAUDE_CODE_DIRS", str(claude))
    for name in ("AIOA_HANDOFF_PATHS", "AIOA_OTEL_PATHS", "AIOA_ROUTING_OUTCOME_PATHS"):
        monkeypatch.delenv(name, raising=False)
    return Settings(home=home), claude


class Running:
    """A watcher on its own thread, stopped (with its last tick) on exit."""

    def __init__(self, settings: Settings) -> None:
        self.watcher = Watcher(settings, publish_interval_s=1.0, quiet_s=0.2, rescan_s=0)
        self.stop = threading.Event()

    def __enter__(self) -> Watcher:
        self.watcher.start()
        self.thread = threading.Thread(target=self.watcher.run, args=(self.stop,))
        self.thread.start()
        return self.watcher

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        self.watcher.close()


def test_an_appended_line_is_published_once_and_stays_once_after_a_restart(live_home):
    settings, claude = live_home
    transcript = sorted(claude.rglob("*.jsonl"))[0]
    with Running(settings) as watcher:
        before = wait_for(lambda: input_tokens_published(settings))  # the catch-up ingest of the existing files
        with transcript.open("a") as handle:
            handle.write(assistant_line("msg_live_1", transcript.stem, 4321, 99) + "\n")
        appended = time.monotonic()
        wait_for(lambda: input_tokens_published(settings) == before + 4321)
        print(f"appended line published after {time.monotonic() - appended:.2f} s")
        assert watcher.stats.errors == []

    # a restart reads nothing twice; a line written while nobody watched is read on start
    with transcript.open("a") as handle:
        handle.write(assistant_line("msg_live_2", transcript.stem, 1000, 10) + "\n")
    with Running(settings):
        wait_for(lambda: input_tokens_published(settings) == before + 4321 + 1000)
    with Running(settings) as watcher:
        time.sleep(1.5)
    assert watcher.stats.rows == 0
    assert input_tokens_published(settings) == before + 4321 + 1000
    connection, _ = open_snapshot(settings)
    with connection:
        copies = connection.execute(
            "select message_id, count(*) from raw.llm_calls where message_id like 'msg_live_%' group by 1 order by 1"
        ).fetchall()
    assert copies == [("msg_live_1", 1), ("msg_live_2", 1)]


def test_the_cli_watches_for_a_bounded_time_and_publishes(live_home):
    settings, _claude = live_home
    done = subprocess.run(
        [sys.executable, "-m", "aioa.cli", "watch", "--for", "3", "--otlp-port", "0", "--rebuild-minutes", "0"],
        env=os.environ | {"AIOA_HOME": str(settings.home)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "rows from claude_code" in done.stderr and "snapshots published" in done.stderr
    assert input_tokens_published(settings) > 0
