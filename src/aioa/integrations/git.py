"""Git linking: the repositories and branches the org's calls ran in (raw.llm_calls `cwd` and `git_branch`, as Claude
Code logs them), read with pygit2, become rows of raw.git_commits. The marts (fct_commit_costs, agg_issue_costs,
agg_pull_request_costs) attribute the calls to these commits; the rule is in docs/integrations.md.

Only commits made from one day before a branch's first call to one day after its last call are stored: older history
cannot take any of the calls' cost."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pygit2

from aioa.contracts import GIT_COMMIT
from aioa.settings import Settings

MARGIN = timedelta(days=1)
_CREDENTIALS = re.compile(r"//[^/@\s]+@")

USED_BRANCHES_SQL = """
select org_id, cwd, git_branch, min(ts_utc) as first_call, max(ts_utc) as last_call
from raw.llm_calls
where cwd is not null and git_branch is not null and git_branch <> 'HEAD'
group by all
"""


@dataclass
class LinkSummary:
    repositories: list[str] = field(default_factory=list)
    branches: int = 0
    commits: int = 0
    missing: list[str] = field(default_factory=list)  # working directories that are not (or no longer) repositories

    def to_dict(self) -> dict:
        return self.__dict__ | {"repositories": sorted(self.repositories)}


def link_git(settings: Settings, connection=None) -> LinkSummary:
    """Read every repository the calls name and replace their rows in raw.git_commits (one transaction)."""
    from aioa.warehouse import connect

    own = connection is None
    connection = connection or connect(settings)
    try:
        used = connection.execute(USED_BRANCHES_SQL).fetchall()
        windows, summary = _branch_windows(used)
        columns: dict[str, list] = defaultdict(list)
        linked_at = datetime.now(UTC).replace(tzinfo=None)
        for (org_id, repo_path), branches in windows.items():
            repository = pygit2.Repository(repo_path)
            remote = _remote_url(repository)
            for branch, (start, end) in branches.items():
                ref = repository.references.get(f"refs/heads/{branch}")
                if ref is None:
                    continue
                summary.branches += 1
                for commit in _commits_between(repository, ref.target, start - MARGIN, end + MARGIN):
                    for name, value in (
                        ("org_id", org_id),
                        ("repo_path", repo_path),
                        ("remote_url", remote),
                        ("branch", branch),
                        ("commit_sha", str(commit.id)),
                        ("committed_at", datetime.fromtimestamp(commit.commit_time, UTC).replace(tzinfo=None)),
                        ("message", commit.message),
                        ("parent_count", len(commit.parent_ids)),
                        ("linked_at", linked_at),
                    ):
                        columns[name].append(value)
        summary.repositories = sorted({repo for _, repo in windows})
        summary.commits = len(columns["commit_sha"])
        _replace(connection, windows, _arrow(columns))
        return summary
    finally:
        if own:
            connection.close()


def _branch_windows(used: list[tuple]) -> tuple[dict, LinkSummary]:
    """{(org, repository root): {branch: (first call, last call)}} from the distinct (org, cwd, branch) rows."""
    summary = LinkSummary()
    roots: dict[str, str | None] = {}
    windows: dict[tuple[str, str], dict[str, tuple[datetime, datetime]]] = defaultdict(dict)
    for org_id, cwd, branch, first_call, last_call in used:
        if cwd not in roots:
            roots[cwd] = _repository_root(cwd)
            if roots[cwd] is None:
                summary.missing.append(cwd)
        root = roots[cwd]
        if root is None:
            continue
        known = windows[(org_id, root)].get(branch)
        if known:
            first_call, last_call = min(known[0], first_call), max(known[1], last_call)
        windows[(org_id, root)][branch] = (first_call, last_call)
    return windows, summary


def _repository_root(cwd: str) -> str | None:
    if not Path(cwd).is_dir():
        return None
    found = pygit2.discover_repository(cwd)
    if found is None:
        return None
    repository = pygit2.Repository(found)
    if repository.is_bare or repository.workdir is None:
        return None
    return str(Path(repository.workdir).resolve())


def _remote_url(repository: pygit2.Repository) -> str | None:
    try:
        url = repository.remotes["origin"].url
    except KeyError:
        return None
    return _CREDENTIALS.sub("//", url) if url else None


def _commits_between(repository: pygit2.Repository, tip, start: datetime, end: datetime):
    """Commits reachable from `tip` committed within [start, end], newest first; stops at the first older one."""
    start_s, end_s = start.replace(tzinfo=UTC).timestamp(), end.replace(tzinfo=UTC).timestamp()
    for commit in repository.walk(tip, pygit2.enums.SortMode.TIME):
        if commit.commit_time < start_s:
            break
        if commit.commit_time <= end_s:
            yield commit


def _arrow(columns: dict[str, list]) -> pa.Table:
    types = {"TIMESTAMP": pa.timestamp("us"), "BIGINT": pa.int64()}
    return pa.table(
        {
            column.name: pa.array(columns.get(column.name, []), type=types.get(column.sql_type, pa.string()))
            for column in GIT_COMMIT.columns
        }
    )


def _replace(connection, windows: dict, rows: pa.Table) -> None:
    """The org's rows of each repository read now are replaced by `rows` (a branch that lost commits loses rows)."""
    read = pa.table(
        {"org_id": [org for org, _ in windows], "repo_path": [repo for _, repo in windows]},
        schema=pa.schema([("org_id", pa.string()), ("repo_path", pa.string())]),
    )
    connection.register("repositories_read", read)
    connection.register("git_commit_rows", rows)
    try:
        connection.execute("begin")
        connection.execute(
            "delete from raw.git_commits as t using repositories_read as r "
            "where t.org_id = r.org_id and t.repo_path = r.repo_path"
        )
        connection.execute("insert into raw.git_commits by name select * from git_commit_rows")
        connection.execute("commit")
    except Exception:
        connection.execute("rollback")
        raise
    finally:
        connection.unregister("repositories_read")
        connection.unregister("git_commit_rows")
