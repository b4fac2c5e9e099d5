"""`aioa annotate add|list`: the operator annotates a day of an org and lists it; a bad day is refused clearly."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aioa.cli import app


def test_annotate_add_and_list(tmp_path, monkeypatch):
    monkeypatch.setenv("AIOA_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    added = runner.invoke(app, ["annotate", "add", "Price change", "--day", "2026-11-03", "--metric", "spend"])
    assert added.exit_code == 0, added.output
    other = runner.invoke(app, ["annotate", "add", "globex note", "--day", "2026-11-03", "--org", "globex"])
    assert other.exit_code == 0, other.output
    listed = runner.invoke(app, ["annotate", "list", "--json"])
    (note,) = json.loads(listed.stdout)
    assert (note["day"], note["metric"], note["body"], note["target"]) == (
        "2026-11-03",
        "spend",
        "Price change",
        "metric",
    )
    bad = runner.invoke(app, ["annotate", "add", "x", "--day", "3 Nov"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
