"""Runs the expectation suites on the working warehouse and stores one row per expectation in `quality.check_results`."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pandas as pd

from aioa.quality.suites import SUITES, stale_before

if TYPE_CHECKING:
    from aioa.warehouse.session import WarehouseSession

RESULTS_COLUMNS = """(
    check_run_id varchar not null,
    checked_at timestamp not null,
    suite varchar not null,
    asset varchar not null,
    severity varchar not null,
    expectation varchar not null,
    column_name varchar,
    success boolean not null,
    observed varchar,
    unexpected_count bigint,
    details varchar
)"""


@dataclass
class CheckResult:
    suite: str
    asset: str
    severity: str
    description: str
    success: bool
    expectations: list[dict]

    def to_dict(self) -> dict:
        return asdict(self)


def run_quality_checks(warehouse: WarehouseSession, freshness_hours: int = 26) -> list[CheckResult]:
    """Validate every suite; results are stored in the warehouse (the read snapshot carries them to the app)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("marts")
    results = []
    threshold = stale_before(freshness_hours)
    has_forecasts = warehouse.has_table("ml", "forecasts")
    for suite in SUITES:
        sql = suite.sql if has_forecasts or suite.sql_without_forecasts is None else suite.sql_without_forecasts
        frame = _naive_times(warehouse.frame(sql))
        batch = (
            source.add_dataframe_asset(suite.name)
            .add_batch_definition_whole_dataframe("all")
            .get_batch(batch_parameters={"dataframe": frame})
        )
        outcome = batch.validate(
            gx.ExpectationSuite(name=suite.name, expectations=suite.expectations(gx.expectations, threshold)),
            result_format="SUMMARY",
        )
        observed = suite.observe(frame) if suite.observe else {}
        expectations = [_summary(item, observed) for item in outcome.results]
        results.append(
            CheckResult(
                suite.name,
                suite.asset,
                suite.severity,
                suite.description,
                all(item["success"] for item in expectations),
                expectations,
            )
        )
    warehouse.store_check_results(_rows(results))
    return results


def _naive_times(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        first = frame[column].dropna().head(1).tolist()
        if first and isinstance(first[0], Decimal):  # PostgreSQL sums of bigint come back as numeric
            frame[column] = frame[column].astype(float)  # GE compares dates and decimals as plain Python values
        if str(frame[column].dtype).startswith("datetime64") and getattr(frame[column].dt, "tz", None) is not None:
            frame[column] = frame[column].dt.tz_localize(None)
    return frame


def _summary(item, observed_by_column: dict[str, str]) -> dict:
    config = item.expectation_config
    result = item.result or {}
    column = config.kwargs.get("column") or config.kwargs.get("column_A")
    observed = result.get("observed_value")
    observed = observed_by_column.get(column) if observed is None else observed
    error = (item.exception_info or {}).get("exception_message") if item.exception_info else None
    return {
        "expectation": config.type,
        "column": column,
        "success": bool(item.success),
        "observed": None if observed is None else str(observed)[:200],
        "unexpected_count": result.get("unexpected_count"),
        "details": error or json.dumps(result.get("partial_unexpected_list", [])[:5], default=str)[:500],
    }


def _rows(results: list[CheckResult]) -> list[tuple]:
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return [
        (
            run_id,
            datetime.now(UTC).replace(tzinfo=None),
            result.suite,
            result.asset,
            result.severity,
            item["expectation"],
            item["column"],
            item["success"],
            item["observed"],
            item["unexpected_count"],
            item["details"],
        )
        for result in results
        for item in result.expectations
    ]
