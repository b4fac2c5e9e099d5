"""The deep-analytics lists over the API: `/v1/team-behaviour`, `/v1/user-behaviour`, `/v1/workflow-patterns` and
`/v1/project-phases` answer the readers' rows for the caller's scope (an Admin the org, a Viewer the team; project
phases are org totals, so a Viewer gets none), and only to holders of usage:read."""

from __future__ import annotations

import pytest

from aioa.analytics import Filters, behaviour
from aioa.identity.permissions import scope_for
from aioa.identity.principal import Principal
from aioa.warehouse.snapshots import open_snapshot
from tests.api.conftest import ORG, PEOPLE

PATHS = ("/v1/team-behaviour", "/v1/user-behaviour", "/v1/workflow-patterns", "/v1/project-phases")


def _items(api, path: str, who: str) -> list[dict]:
    answer = api.client.get(path, params={"limit": 10_000}, headers=api.headers[who])
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_an_admin_reads_the_orgs_rows_as_the_readers_give_them(api):
    connection, _ = open_snapshot(api.settings)
    scope = scope_for(Principal("admin", "user", ORG, "admin"))
    with connection:
        teams = behaviour.behaviour_by(connection, Filters(), scope, "team")
        phases = behaviour.project_phases(connection, Filters(), scope)
        patterns = behaviour.workflow_patterns(connection, Filters(), scope)
    got = {row["team"]: row["sessions"] for row in _items(api, "/v1/team-behaviour", "admin")}
    assert got == dict(zip(teams["team"], teams["sessions"], strict=True)) and len(got) >= 2
    assert len(_items(api, "/v1/project-phases", "admin")) == len(phases) > 10
    assert {row["org_id"] for row in _items(api, "/v1/project-phases", "admin")} == {ORG}
    assert [row["pattern"] for row in _items(api, "/v1/workflow-patterns", "admin")] == list(patterns["pattern"])


def test_a_viewer_reads_their_team_only_and_no_org_totals(api):
    team = PEOPLE["viewer"][2]
    assert {row["team"] for row in _items(api, "/v1/team-behaviour", "viewer")} == {team}
    assert _items(api, "/v1/project-phases", "viewer") == []


@pytest.mark.parametrize("path", PATHS)
def test_keys_without_read_are_refused(api, path):
    assert api.client.get(path, headers=api.headers["key_ingest"]).status_code == 403
    assert api.client.get(path, headers=api.headers["key_read"]).status_code == 200
