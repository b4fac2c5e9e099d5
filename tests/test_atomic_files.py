"""Files other processes read while we replace them (`aioa.atomic_files`), exercised by real concurrent processes."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from aioa.atomic_files import create_once, write_text_atomically
from aioa.settings import PROJECT_ROOT

_TUNER = """
import sys
from aioa.settings import Settings
from ml.routing.tuning import apply, read_thresholds
settings = Settings(home=sys.argv[1])
for step in range(int(sys.argv[3])):
    apply(settings, f"{sys.argv[2]}-{step}", {"threshold": step / 100})
"""

_CREATOR = """
import secrets, sys
from pathlib import Path
import pytest

from aioa.atomic_files import create_once
create_once(Path(sys.argv[1]), secrets.token_hex(16))
print(Path(sys.argv[1]).read_text(), end="")
"""


def _processes(script: str, *arguments: list[str]) -> list[subprocess.Popen]:
    return [
        subprocess.Popen([sys.executable, "-c", script, *args], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
        for args in arguments
    ]


def test_thresholds_tuned_at_once_for_different_orgs_all_stay(tmp_path: Path) -> None:
    """Read, add the org, replace: without the file's lock, two tuners lose each other's entries."""
    runs = _processes(_TUNER, *[[str(tmp_path), org, "25"] for org in ("acme", "globex", "initech")])
    assert [run.wait(timeout=120) for run in runs] == [0, 0, 0]
    stored = json.loads((tmp_path / "models" / "router" / "thresholds.json").read_text())
    assert sorted(stored) == sorted(f"{org}-{step}" for org in ("acme", "globex", "initech") for step in range(25))
    assert not list((tmp_path / "models" / "router").glob("*.partial"))


def test_created_once_by_the_first_of_many_processes(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "secret"
    runs = _processes(_CREATOR, *[[str(path)] for _ in range(6)])
    seen = {run.communicate(timeout=60)[0] for run in runs}
    assert seen == {path.read_text()} and len(path.read_text()) == 32  # every process reads the one written
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    create_once(path, "other")
    assert path.read_text() != "other" and [item.name for item in path.parent.iterdir()] == ["secret"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = write_text_atomically(tmp_path / "report.json", "old", private=True)
    with pytest.raises(TypeError):
        write_text_atomically(path, object())  # type: ignore[arg-type]  # not text: the write fails midway
    assert path.read_text() == "old" and [item.name for item in tmp_path.iterdir()] == ["report.json"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
