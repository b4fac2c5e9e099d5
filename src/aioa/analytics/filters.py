"""Global filters (date range, org, team, project, model) and their translation into a bound WHERE clause."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from aioa import metrics
from aioa.warehouse.access import TenantScope
from aioa.warehouse.relations import columns_of, tenant_filter

# Dimensions a caller may group the usage aggregates by (name → column, from the registry): the only column names
# that ever reach SQL text from outside.
DIMENSIONS = {
    name: dimension.column for name, dimension in metrics.DIMENSIONS.items() if "agg_usage_daily" in dimension.tables
}


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None
    orgs: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    models: tuple[str, ...] = ()

    def previous_period(self) -> Filters:
        """The period of equal length just before this one (for deltas)."""
        if self.start is None or self.end is None:
            return self
        length = (self.end - self.start).days + 1
        return Filters(
            self.start - timedelta(days=length),
            self.start - timedelta(days=1),
            self.orgs,
            self.teams,
            self.projects,
            self.models,
        )


def where(
    filters: Filters,
    scope: TenantScope,
    *,
    relation: str,
    day_column: str = "day",
    prefix: str = "",
) -> tuple[str, dict]:
    """`where …` text and its parameters for `relation` (`schema.table`, read as `<prefix>column`): the tenant
    scope (orgs, and a narrowed scope's team/user rows), then the filters on the columns the relation has."""
    columns = columns_of(relation)
    clauses, params = [], {}
    tenant_sql, tenant_params = tenant_filter(scope, relation, prefix=prefix)
    clauses.append(tenant_sql)
    params |= tenant_params
    if filters.start is not None and day_column:
        clauses.append(f"{prefix}{day_column} >= $start_day")
        params["start_day"] = filters.start
    if filters.end is not None and day_column:
        clauses.append(f"{prefix}{day_column} <= $end_day")
        params["end_day"] = filters.end
    for name, column in (("orgs", "org_id"), ("teams", "team_id"), ("projects", "project_id"), ("models", "model")):
        values = getattr(filters, name)
        if values and column in columns:
            # a scalar predicate, not `in (select unnest(…))`: DuckDB keeps it inside the table scan (a semi-join
            # there scanned all ten million calls and cost ~15x more on the detail query)
            clauses.append(f"list_contains(${name}, {prefix}{column})")
            params[name] = list(values)
    return "where " + " and ".join(clauses), params
