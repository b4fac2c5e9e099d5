"""docs/security.md shows the permission table, the key scopes and every API route as the code has them."""

from __future__ import annotations

import re

from apps.api.main import create_app

from aioa.identity.permissions import KEY_SCOPES, matrix
from aioa.settings import PROJECT_ROOT

DOC = (PROJECT_ROOT / "docs" / "security.md").read_text()


def test_the_role_matrix_is_the_permission_table():
    documented = re.findall(r"^\| `([a-z]+:[a-z]+)` \| (yes|—) \| (yes|—) \| (yes|—) \|$", DOC, re.MULTILINE)
    expected = [
        (row["permission"], *("yes" if row[role] else "—" for role in ("admin", "user", "viewer"))) for row in matrix()
    ]
    assert documented == expected


def test_the_key_scopes_are_documented_as_granted():
    for scope, granted in KEY_SCOPES.items():
        line = re.search(rf"^\| `{scope}` \| (.+) \|$", DOC, re.MULTILINE).group(1)
        listed = set(re.findall(r"`([a-z]+:[a-z]+)`", line))
        assert listed == set(granted) or (scope == "admin" and line == "every permission")


def test_every_api_route_is_documented():
    spec = create_app().openapi()
    missing = [path for path in spec["paths"] if f"{path}`" not in DOC and f"{path}," not in DOC]
    assert not missing, f"not in docs/security.md: {missing}"
