"""Billing export: the same numbers as an independent pandas computation on the raw rows and as `usage_report(...,
"monthly")` on the same snapshot; one org's export never carries another org's rows; CSV and JSON agree."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import duckdb
import pytest
from typer.testing import CliRunner

from aioa.cli import app
from aioa.identity import audit
from aioa.reports import usage_report
from aioa.settings import Settings
from aioa.tenants.billing import COLUMNS, month_bounds, usage_export
from aioa.warehouse.access import TenantScope
from aioa.warehouse.snapshots import current_snapshot, open_snapshot

ORGS = ("acme", "globex", "initech", "default")


@pytest.fixture(scope="module")
def raw_frames(ingested_sample_home):
    """The raw fact tables of the snapshot, whole, as pandas frames (no SQL aggregation, no tenant filter)."""
    _, path = current_snapshot(Settings(home=ingested_sample_home))
    with duckdb.connect(str(path), read_only=True) as connection:
        calls = connection.execute("select * from raw.llm_calls").df()
        calls["cost_exact"] = [row[0] for row in connection.execute("select cost_usd from raw.llm_calls").fetchall()]
        tools = connection.execute("select org_id, ts_utc from raw.tool_calls").df()
        handoffs = connection.execute("select org_id, ts_utc from raw.handoffs").df()
    for frame in (calls, tools, handoffs):
        frame["month"] = frame["ts_utc"].dt.strftime("%Y-%m")
    return calls, tools, handoffs


def _expected(raw_frames, org: str, month: str) -> dict:
    calls, tools, handoffs = raw_frames
    mine = calls[(calls["org_id"] == org) & (calls["month"] == month)]
    stored = sum(len(frame[(frame["org_id"] == org) & (frame["month"] == month)]) for frame in raw_frames)
    return {
        "org_id": org,
        "month": month,
        "calls": int((mine["status"] == "ok").sum()),
        "errors": int((mine["status"] == "error").sum()),
        "input_tokens": int(mine["input_tokens"].sum()),
        "output_tokens": int(mine["output_tokens"].sum()),
        "cache_read_tokens": int(mine["cache_read_tokens"].sum()),
        "cache_write_tokens": int((mine["cache_write_5m_tokens"] + mine["cache_write_1h_tokens"]).sum()),
        "total_tokens": int(
            mine[
                ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens"]
            ]
            .sum()
            .sum()
        ),
        "cost_usd": float(sum((cost for cost in mine["cost_exact"] if cost is not None), Decimal(0))),
        "unpriced_calls": int((mine["price_status"] == "unpriced").sum()),
        "active_users": int(mine["user_id"].nunique()),
        "stored_rows": stored,
    }


def _months(raw_frames) -> list[str]:
    return sorted(set().union(*(set(frame["month"]) for frame in raw_frames)))


def test_every_org_and_month_matches_pandas_on_the_raw_rows(ingested_sample_home, raw_frames):
    settings = Settings(home=ingested_sample_home)
    months = _months(raw_frames)
    assert len(months) >= 4
    checked = 0
    for org in ORGS:
        for month in months:
            assert usage_export(settings, org, month) == [_expected(raw_frames, org, month)]
            checked += 1
    # the sample exercises every column: errors, unpriced calls, several users, tool calls and handoffs
    totals = {name: sum(_expected(raw_frames, org, m)[name] for org in ORGS for m in months) for name in COLUMNS[2:]}
    assert totals["errors"] > 0 and totals["unpriced_calls"] > 0 and totals["cost_usd"] > 0
    assert totals["stored_rows"] == sum(len(frame) for frame in raw_frames)
    assert checked == len(ORGS) * len(months)


def test_all_months_at_once_are_the_months_one_by_one(ingested_sample_home, raw_frames):
    settings = Settings(home=ingested_sample_home)
    every = usage_export(settings, "globex", None)
    assert [row["month"] for row in every] == [
        m for m in _months(raw_frames) if _expected(raw_frames, "globex", m)["stored_rows"]
    ]
    assert every == [usage_export(settings, "globex", row["month"])[0] for row in every]


def test_billing_equals_the_monthly_usage_report_on_the_same_snapshot(ingested_sample_home):
    settings = Settings(home=ingested_sample_home)
    connection, _ = open_snapshot(settings)  # the reader usage_export opens too (same snapshot, same config)
    with connection:
        for org in ORGS:
            report = usage_report(connection, "monthly", scope=TenantScope.for_orgs(org))
            assert report
            billing = {row["month"]: row for row in usage_export(settings, org, None)}
            for month in report:
                row = billing[month["month"]]
                assert row["cost_usd"] == month["cost_usd"]  # same exact sum, same float
                for name in ("calls", "errors", "input_tokens", "output_tokens", "cache_read_tokens", "total_tokens"):
                    assert row[name] == month[name], (org, month["month"], name)
                assert row["cache_write_tokens"] == month["cache_creation_tokens"]
                assert row["unpriced_calls"] == month["unpriced_calls"]


def test_a_month_without_usage_is_a_row_of_zeros_and_an_unknown_org_sees_nothing(ingested_sample_home):
    settings = Settings(home=ingested_sample_home)
    [row] = usage_export(settings, "acme", "2020-02")
    assert row == {"org_id": "acme", "month": "2020-02", **{name: 0 for name in COLUMNS[2:]}}
    assert usage_export(settings, "nobody", None) == []
    assert usage_export(settings, "acme' or '1'='1", None) == []  # the org id is bound, never pasted


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "202611", "2026-11-01", "", "26-11"])
def test_a_malformed_month_is_refused(month):
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_bounds(month)


def test_december_ends_at_new_year():
    start, end = month_bounds("2026-12")
    assert (start.isoformat(), end.isoformat()) == ("2026-12-01T00:00:00", "2027-01-01T00:00:00")


def test_cli_csv_and_json_carry_identical_numbers_and_the_export_is_audited(billing_home, raw_frames, tmp_path):
    runner = CliRunner()
    month = _months(raw_frames)[-2]
    as_json = runner.invoke(app, ["billing", "export", "--org", "acme", "--month", month, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    out = tmp_path / "acme.csv"
    as_csv = runner.invoke(app, ["billing", "export", "--org", "acme", "--month", month, "--out", str(out)])
    assert as_csv.exit_code == 0, as_csv.output
    json_rows = json.loads(as_json.stdout)
    csv_rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(csv_rows[0]) == list(COLUMNS)
    parsed = [
        {
            name: value if name in ("org_id", "month") else (float if name == "cost_usd" else int)(value)
            for name, value in row.items()
        }
        for row in csv_rows
    ]
    assert parsed == json_rows == [_expected(raw_frames, "acme", month)]
    exports = [entry for entry in audit.export(billing_home, org_id="acme") if entry["action"] == "billing.export"]
    assert [entry["detail"]["format"] for entry in exports] == ["json", "csv"]
    assert exports[-1]["detail"] == {"month": month, "format": "csv", "rows": 1, "file": str(out)}


def test_cli_refuses_a_bad_month_or_format(billing_home):
    runner = CliRunner()
    bad_month = runner.invoke(app, ["billing", "export", "--org", "acme", "--month", "2026-13"])
    assert bad_month.exit_code == 2 and "YYYY-MM" in bad_month.output
    bad_format = runner.invoke(app, ["billing", "export", "--org", "acme", "--month", "2026-10", "--format", "xml"])
    assert bad_format.exit_code == 2 and "csv or json" in bad_format.output


def test_a_budget_set_for_the_tenant_reaches_the_warehouse_at_the_next_ingest(billing_home, sample_dir):
    from aioa.ingest.registry import BY_NAME
    from aioa.ingest.runner import ingest
    from aioa.pipeline import SourcePaths
    from aioa.tenants.settings_doc import update_tenant_settings

    update_tenant_settings(billing_home, "acme", {"monthly_budget_usd": "12345.67"}, actor="test")
    ingest(BY_NAME["handoffs"].source(), SourcePaths.from_sample(sample_dir).handoffs, billing_home)  # nothing new
    connection, _ = open_snapshot(billing_home)
    with connection:
        budgets = dict(connection.execute("select org_id, monthly_budget_usd from raw.orgs").fetchall())
    assert budgets["acme"] == Decimal("12345.67")
    assert budgets["globex"] is not None and budgets["globex"] != Decimal("12345.67")  # the YAML's, untouched
