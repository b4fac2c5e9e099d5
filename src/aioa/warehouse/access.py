"""The data-access layer: tenant scoping that every read goes through."""

from __future__ import annotations

from dataclasses import dataclass, replace

ROW_COLUMNS = frozenset({"team_id", "user_id"})


@dataclass(frozen=True)
class TenantScope:
    """Which rows a caller may read: orgs (`None`: every org, for operators), and within them optionally only some
    teams' and users' rows (a User reads their team's rows and their own; a Viewer their team's).

    Row narrowing applies to tables that have `team_id`/`user_id`; a table with neither gives a narrowed scope no
    rows (it is never widened to the whole org)."""

    org_ids: tuple[str, ...] | None
    team_ids: tuple[str, ...] | None = None
    user_ids: tuple[str, ...] | None = None

    @classmethod
    def all_orgs(cls) -> TenantScope:
        return cls(None)

    @classmethod
    def for_orgs(cls, *org_ids: str) -> TenantScope:
        if not org_ids:
            raise ValueError("a tenant scope needs at least one org id")
        return cls(tuple(org_ids))

    def narrowed_to(self, *org_ids: str) -> TenantScope:
        """The orgs of `org_ids` this scope may read (a view of one org the user picked); never widens the scope."""
        allowed = org_ids if self.org_ids is None else tuple(org for org in org_ids if org in self.org_ids)
        if not allowed:
            raise ValueError(f"orgs {', '.join(org_ids)} are outside this scope")
        return replace(self, org_ids=tuple(allowed))

    def narrowed_to_rows(self, *, team_ids=(), user_ids=()) -> TenantScope:
        """Only the rows of these teams or these users (either matches)."""
        return replace(self, team_ids=tuple(team_ids), user_ids=tuple(user_ids))

    @property
    def rows_narrowed(self) -> bool:
        return self.team_ids is not None or self.user_ids is not None

    def filter_sql(self, column: str = "org_id", *, row_columns: frozenset[str] = frozenset()) -> tuple[str, dict]:
        """A WHERE fragment with bound parameters; never string-formats an org id into SQL.

        `row_columns`: which of `team_id`/`user_id` the table has (same prefix as `column`)."""
        clauses, params = [], {}
        if self.org_ids is not None:
            # list_contains, not `in (select unnest(...))`: the latter plans as a join and scans every row.
            clauses.append(f"list_contains($scope_org_ids, {column})")
            params["scope_org_ids"] = list(self.org_ids)
        if self.rows_narrowed:
            prefix = column[: -len("org_id")] if column.endswith("org_id") else ""
            either = []
            if self.team_ids and "team_id" in row_columns:
                either.append(f"list_contains($scope_team_ids, {prefix}team_id)")
                params["scope_team_ids"] = list(self.team_ids)
            if self.user_ids and "user_id" in row_columns:
                either.append(f"list_contains($scope_user_ids, {prefix}user_id)")
                params["scope_user_ids"] = list(self.user_ids)
            clauses.append("(" + " or ".join(either) + ")" if either else "false")
        return (" and ".join(clauses) or "true"), params
