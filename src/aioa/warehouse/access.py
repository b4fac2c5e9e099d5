"""The data-access layer: tenant scoping that every read goes through."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TenantScope:
    """Which orgs a caller may read. `all_orgs()` is for operators (CLI on their own machine); apps pass orgs."""

    org_ids: tuple[str, ...] | None

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
        return TenantScope(tuple(allowed))

    def filter_sql(self, column: str = "org_id") -> tuple[str, dict]:
        """A WHERE fragment with bound parameters; never string-formats an org id into SQL."""
        if self.org_ids is None:
            return "true", {}
        # list_contains, not `in (select unnest(...))`: the latter plans as a join and scans every row.
        return f"list_contains($scope_org_ids, {column})", {"scope_org_ids": list(self.org_ids)}
