"""Runs the expectation suites on the working warehouse and stores one row per expectation in `quality.check_results`."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd

from aioa.quality.suites import Suite, suites

RESULTS_DDL = """
create schema if not exists quality;
create table if not exists quality.check_results (
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
)
"""


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


def run_quality_checks(connection: duckdb.DuckDBPyConnection, freshness_hours: int = 26) -> list[CheckResult]:
    """Validate every suite; results are stored in the warehouse (the read snapshot carries them to the app)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("marts")
    results = []
    for suite in suites(freshness_hours):
        frame = _frame(connection, suite)
        batch = source.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": frame})
        outcome = batch.validate(gx.ExpectationSuite(name=suite.name, expectations=suite.expectations),
                                 result_format="SUMMARY")
        expectations = [_summary(item) for item in outcome.results]
        results.append(CheckResult(suite.name, suite.asset, suite.severity, suite.description,
                                   all(item["success"] for item in expectations), expectations))
    _store(connection, results)
    return results


def _frame(connection: duckdb.DuckDBPyConnection, suite: Suite) -> pd.DataFrame:
    frame = connection.execute(suite.sql).df()
    for column in frame.columns:  # GE compares dates and decimals as plain Python values
        if str(frame[column].dtype).startswith("datetime64") and getattr(frame[column].dt, "tz", None) is not None:
            frame[column] = frame[column].dt.tz_localize(None)
    return frame


def _summary(item) -> dict:
    config = item.expectation_config
    result = item.result or {}
    observed = result.get("observed_value")
    error = (item.exception_info or {}).get("exception_message") if item.exception_info else None
    return {
        "expectation": config.type,
        "column": config.kwargs.get("column") or config.kwargs.get("column_A"),
        "success": bool(item.success),
        "observed": None if observed is None else str(observed)[:200],
        "unexpected_count": result.get("unexpected_count"),
        "details": error or json.dumps(result.get("partial_unexpected_list", [])[:5], default=str)[:500],
    }


def _store(connection: duckdb.DuckDBPyConnection, results: list[CheckResult]) -> None:
    connection.execute(RESULTS_DDL)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    rows = [(run_id, datetime.now(UTC).replace(tzinfo=None), result.suite, result.asset, result.severity,
             item["expectation"], item["column"], item["success"], item["observed"], item["unexpected_count"],
             item["details"]) for result in results for item in result.expectations]
    connection.executemany("insert into quality.check_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
