"""Git linking end to end: a repository the test creates with known commits (pygit2), a Claude Code transcript whose
calls ran in it, GitHub and Jira played by a local server; one pipeline run; cost per commit, per pull request and
per issue checked against the calls' own costs (fct_llm_calls) under the attribution rule of docs/integrations.md."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pygit2
import pytest

from aioa.pipeline import SourcePaths, run_pipeline
from aioa.settings import Settings
from tests.ingest.transcripts import assistant
from tests.integrations.fake_api import FakeApi

FEATURE = "feature/ABC-12-login"


def _at(clock: str) -> datetime:
    return datetime.fromisoformat(f"2026-03-02T{clock}:00+00:00")


def _commit(repo: pygit2.Repository, ref: str, message: str, clock: str, parents: list) -> pygit2.Oid:
    when = pygit2.Signature("Dev", "dev@acme.test", int(_at(clock).timestamp()), 0)
    tree = repo.TreeBuilder().write()
    return repo.create_commit(ref, when, when, message, tree, parents)


def _repository(root: Path) -> dict[str, str]:
    """main: initial 09:00, M1 10:02; the feature branch (from initial): C1 10:05, C2 10:20, C3 12:00."""
    repo = pygit2.init_repository(str(root), initial_head="main")
    repo.remotes.create("origin", "https://token@github.com/acme/shop.git")
    initial = _commit(repo, "refs/heads/main", "initial", "09:00", [])
    m1 = _commit(repo, "refs/heads/main", "main work", "10:02", [initial])
    repo.branches.local.create(FEATURE, repo[initial])
    ref = f"refs/heads/{FEATURE}"
    c1 = _commit(repo, ref, "Add login form (ABC-12)", "10:05", [initial])
    c2 = _commit(repo, ref, "Fix XYZ-7 crash", "10:20", [c1])
    c3 = _commit(repo, ref, "Later work ABC-99", "12:00", [c2])
    (root / "web").mkdir()
    return {name: str(oid) for name, oid in (("initial", initial), ("M1", m1), ("C1", c1), ("C2", c2), ("C3", c3))}


def _transcript(claude_dir: Path, repo: Path) -> None:
    """Session s1 on the feature branch: a 10:00, b 10:04, c 10:10 (in repo/web), d 10:30; s2 on main: e 10:00."""
    calls = [
        ("a", "10:00", "s1", str(repo), FEATURE, 1000),
        ("b", "10:04", "s1", str(repo), FEATURE, 2000),
        ("c", "10:10", "s1", str(repo / "web"), FEATURE, 3000),
        ("d", "10:30", "s1", str(repo), FEATURE, 4000),
        ("e", "10:00", "s2", str(repo), "main", 5000),
    ]
    folder = claude_dir / "projects" / "-shop"
    folder.mkdir(parents=True)
    for session in ("s1", "s2"):
        lines = [
            assistant(
                f"msg_{name}",
                f"req_{name}",
                output=output,
                model="claude-sonnet-4-5",
                cwd=cwd,
                branch=branch,
                session=session,
                ts=f"2026-03-02T{clock}:00.000Z",
            )
            for name, clock, call_session, cwd, branch, output in calls
            if call_session == session
        ]
        (folder / f"{session}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    root = tmp_path_factory.mktemp("git-links")
    commits = _repository(root / "shop")
    _transcript(root / ".claude", root / "shop")
    pulls = [
        {
            "number": 5,
            "title": "Login",
            "state": "open",
            "merged_at": None,
            "head": {"ref": FEATURE},
            "html_url": "https://github.com/acme/shop/pull/5",
        }
    ]
    abc = {"key": "ABC-12", "fields": {"summary": "Login page", "status": {"name": "In Progress"}}}
    routes = {
        ("GET", "/repos/acme/shop/pulls"): [(500, {}), (200, pulls)],
        ("GET", "/rest/api/3/issue/ABC-12"): [(200, abc)],
    }
    with FakeApi(routes) as api, pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AIOA_GITHUB_API_URL": api.url,
            "AIOA_GITHUB_TOKEN": "ghp_test",
            "AIOA_JIRA_URL": api.url,
            "AIOA_JIRA_EMAIL": "bot@acme.test",
            "AIOA_JIRA_TOKEN": "tok",
            "AIOA_INTEGRATION_BACKOFF_S": "0.01",
            "DAGSTER_HOME": str(root / "dagster"),
        }.items():
            patch.setenv(name, value)
        (root / "dagster").mkdir()
        home = root / "home"
        run_pipeline(Settings(home=home), SourcePaths(claude_code=[root / ".claude"]), include_ml=False)
        requests = list(api.requests)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        cost = dict(connection.execute("select message_id, cost_usd from marts.fct_llm_calls").fetchall())
        tables = {
            name: connection.execute(f"select * from marts.{name}").df()
            for name in ("fct_commit_costs", "agg_issue_costs", "agg_pull_request_costs")
        }
        raw = connection.execute("select branch, commit_sha, remote_url from raw.git_commits").fetchall()
    yield commits, {key.removeprefix("msg_"): value for key, value in cost.items()}, tables, raw, requests, home


def test_raw_commits_are_the_branches_commits_in_the_calls_window(linked):
    commits, _, _, raw, _, _ = linked
    # a day either side of each branch's calls: every commit of that day, per branch it is reachable from
    assert sorted((branch, sha) for branch, sha, _ in raw) == sorted(
        [("main", commits["initial"]), ("main", commits["M1"])]
        + [(FEATURE, commits[name]) for name in ("initial", "C1", "C2", "C3")]
    )
    assert {remote for _, _, remote in raw} == {"https://github.com/acme/shop.git"}  # credentials removed


def test_cost_per_commit_follows_the_next_commit_rule(linked):
    commits, cost, tables, _, _, _ = linked
    frame = tables["fct_commit_costs"].set_index("commit_sha")
    expected = {commits["C1"]: ("ab", 2), commits["C2"]: ("c", 1), commits["M1"]: ("e", 1)}
    assert set(frame.index) == set(expected)  # d (after the last commit in its window) and C3 take nothing
    for sha, (names, calls) in expected.items():
        assert frame.loc[sha, "calls"] == calls
        assert frame.loc[sha, "cost_usd"] == pytest.approx(sum(cost[name] for name in names), rel=1e-12)
        assert frame.loc[sha, "org_id"] == "default" and frame.loc[sha, "github_repo"] == "acme/shop"
    assert frame.loc[commits["C1"], "summary"] == "Add login form (ABC-12)"
    assert all(value > 0 for value in cost.values())


def test_cost_per_issue_from_branch_names_and_commit_messages(linked):
    _, cost, tables, _, _, _ = linked
    rows = tables["agg_issue_costs"]
    # call c ran in repo/web: its project is `web` (the attribution's cwd rule), the others' `shop`
    pairs = sorted(zip(rows["issue_key"], rows["project_id"], strict=True))
    assert pairs == [("ABC-12", "shop"), ("ABC-12", "web"), ("XYZ-7", "web")]
    frame = rows.groupby("issue_key").agg(
        calls=("calls", "sum"),
        cost_usd=("cost_usd", "sum"),
        title=("title", "first"),
        status=("status", "first"),
        tracker=("tracker", "first"),
    )
    assert frame.loc["ABC-12", "calls"] == 4  # every call on the feature branch
    assert frame.loc["ABC-12", "cost_usd"] == pytest.approx(cost["a"] + cost["b"] + cost["c"] + cost["d"], rel=1e-12)
    assert (frame.loc["ABC-12", "title"], frame.loc["ABC-12", "status"]) == ("Login page", "In Progress")
    assert frame.loc["XYZ-7", "calls"] == 1 and frame.loc["XYZ-7", "cost_usd"] == pytest.approx(cost["c"], rel=1e-12)
    assert rows.set_index("issue_key").loc["XYZ-7", "tracker"] is None  # Jira answered 404: kept, untitled


def test_cost_per_pull_request_after_a_retried_github_call(linked):
    _, cost, tables, _, requests, _ = linked
    frame = tables["agg_pull_request_costs"].sort_values("project_id")
    assert frame[["pull_request_key", "project_id", "calls", "commits", "status"]].values.tolist() == [
        ["acme/shop#5", "shop", 2, 1, "open"],  # a, b -> C1
        ["acme/shop#5", "web", 1, 1, "open"],  # c -> C2
    ]
    assert frame["cost_usd"].sum() == pytest.approx(cost["a"] + cost["b"] + cost["c"], rel=1e-12)
    asked = [r for r in requests if r.path == "/repos/acme/shop/pulls"]
    assert len(asked) == 3  # a 500 and its retry, then the other branch (main)
    assert {r.query.split("head=")[1].split("&")[0] for r in asked} == {"acme%3Amain", "acme%3Afeature%2FABC-12-login"}


def test_the_cli_reads_the_costs_and_the_status(linked, monkeypatch):
    from typer.testing import CliRunner

    from aioa.cli import app

    commits, cost, _, _, _, home = linked
    monkeypatch.setenv("AIOA_HOME", str(home))
    for name in ("AIOA_GITHUB_TOKEN", "AIOA_JIRA_URL", "AIOA_LINEAR_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["integrations", "costs", "commits", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["commit_sha"]: row for row in json.loads(result.stdout)}
    assert rows[commits["C1"]]["cost_usd"] == pytest.approx(cost["a"] + cost["b"], rel=1e-12)
    assert list(rows)[0] == max(rows, key=lambda sha: rows[sha]["cost_usd"])  # most expensive first
    status = CliRunner().invoke(app, ["integrations", "status", "--json"])
    assert status.exit_code == 0, status.output
    payload = json.loads(status.stdout)
    assert payload["git_commits"] == 6 and payload["linked_items"] == {"github": 1, "jira": 1}
    assert payload["github"]["configured"] is False and "ghp_test" not in status.stdout
