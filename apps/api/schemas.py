"""Query parameters and response shapes shared by the routes: filters, pagination and the page envelope."""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field, model_validator

from aioa.analytics import Filters

MAX_ROWS = 10_000  # detail lists (sessions) read at most this many rows: their `total` is capped there


class UsageFilters(BaseModel):
    """Date range and dimension filters (query parameters; lists are repeatable: `?model=a&model=b`)."""

    since: date | None = Field(None, description="First day (YYYY-MM-DD, UTC), inclusive.")
    until: date | None = Field(None, description="Last day (YYYY-MM-DD, UTC), inclusive.")
    team: list[str] = Field(default_factory=list, description="Only these teams.")
    project: list[str] = Field(default_factory=list, description="Only these projects.")
    model: list[str] = Field(default_factory=list, description="Only these models.")

    @model_validator(mode="after")
    def _ordered(self) -> UsageFilters:
        if self.since and self.until and self.since > self.until:
            raise ValueError("since is after until")
        return self

    def to_filters(self) -> Filters:
        # orgs are not a filter here: the tenant scope (from the principal) already holds them
        return Filters(self.since, self.until, (), tuple(self.team), tuple(self.project), tuple(self.model))

    def audited(self) -> dict:
        return self.model_dump(mode="json", exclude_defaults=True)


class PageParams(BaseModel):
    limit: int = Field(100, ge=1, le=10_000, description="Rows per page.")
    offset: int = Field(0, ge=0, description="Rows to skip.")


class Page(BaseModel):
    """A page of records: `items` are rows `offset` … `offset + limit - 1` of `total`."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


def records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    """JSON-ready rows: timestamps as ISO 8601, NaN/NaT as null, numpy numbers as plain numbers."""
    if frame is None or frame.empty:
        return []
    frame = frame.assign(**{name: frame[name].map(_day) for name in frame.columns if _holds_days(frame[name])})
    return [_clean(row) for row in json.loads(frame.to_json(orient="records", date_format="iso", default_handler=str))]


def _holds_days(column: pd.Series) -> bool:
    first = column.dropna().head(1).tolist()
    return column.dtype == object and bool(first) and type(first[0]) is date


def _day(value):
    return value.isoformat() if isinstance(value, date) else value


def _clean(row: dict) -> dict:
    return {key: None if isinstance(value, float) and not math.isfinite(value) else value for key, value in row.items()}


def page_of(rows: list[dict[str, Any]], page: PageParams) -> Page:
    return Page(
        items=rows[page.offset : page.offset + page.limit], total=len(rows), limit=page.limit, offset=page.offset
    )


_DAY_COLUMNS = ("day", "ts", "ts_utc", "detected_at")


def filter_frame(frame: pd.DataFrame | None, filters: UsageFilters) -> pd.DataFrame | None:
    """The filters applied to a table read whole (ML outputs): each filter on the column it names, where present."""
    if frame is None or frame.empty:
        return frame
    keep = pd.Series(True, index=frame.index)
    day_column = next((name for name in _DAY_COLUMNS if name in frame.columns), None)
    if day_column is not None and (filters.since or filters.until):
        days = pd.to_datetime(frame[day_column]).dt.date
        if filters.since:
            keep &= days >= filters.since
        if filters.until:
            keep &= days <= filters.until
    for column, values in (("team_id", filters.team), ("project_id", filters.project), ("model", filters.model)):
        if values and column in frame.columns:
            keep &= frame[column].isin(values)
    return frame[keep]
