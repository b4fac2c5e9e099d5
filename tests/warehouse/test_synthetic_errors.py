"""Claude Code writes the model `<synthetic>` on the error message it makes up after a failed API call. In the marts
such a line is an error of the model that failed, never a model of its own; its session and its user keep it."""

from __future__ import annotations

import pandas as pd

from aioa.settings import Settings
from aioa.warehouse.connection import connect_reader
from aioa.warehouse.snapshots import current_snapshot


def _frames(home):
    settings = Settings(home=home)
    with connect_reader(current_snapshot(settings)[1], settings) as connection:
        raw = connection.execute(
            "select call_key, session_id, org_id, user_id, ts_utc, model, status from raw.llm_calls "
            "where source_system = 'claude_code'"
        ).df()
        marts = connection.execute(
            "select call_key, session_id, user_id, model, is_error from marts.fct_llm_calls "
            "where source_system = 'claude_code'"
        ).df()
        models = {
            table: {row[0] for row in connection.execute(f"select distinct model from marts.{table}").fetchall()}
            for table in ("fct_llm_calls", "agg_usage_daily", "dim_models")
        }
        errors = dict(
            connection.execute("select model, sum(error_calls) from marts.agg_usage_daily group by 1").fetchall()
        )
        raw_errors = connection.execute("select count(*) from raw.llm_calls where status = 'error'").fetchone()[0]
    return raw, marts, models, errors, raw_errors


def test_synthetic_errors_count_against_the_model_that_failed(built_home):
    raw, marts, models, errors, raw_errors = _frames(built_home)
    synthetic = raw[raw["model"] == "<synthetic>"]
    assert len(synthetic) > 10  # the sample has API errors
    assert all("<synthetic>" not in names for names in models.values())

    # Expected, worked out apart from the SQL: the session's latest real model before the error (else the first
    # after it); a session of errors only: the model its user used most on the nearest day within a week.
    real = raw[raw["model"] != "<synthetic>"].copy()
    real["day"] = real["ts_utc"].dt.normalize()
    expected = {}
    for call in synthetic.itertuples():
        same_session = real[real["session_id"] == call.session_id]
        # latest first; calls at the same instant: the smallest key (any fixed rule; the SQL's)
        before = same_session[same_session["ts_utc"] <= call.ts_utc]
        before = before.sort_values(["ts_utc", "call_key"], ascending=[False, True])
        after = same_session[same_session["ts_utc"] > call.ts_utc].sort_values(["ts_utc", "call_key"])
        if len(before):
            expected[call.call_key] = before["model"].iloc[0]
        elif len(after):
            expected[call.call_key] = after["model"].iloc[0]
        else:
            day = call.ts_utc.normalize()
            near = real[
                (real["org_id"] == call.org_id)
                & (real["user_id"] == call.user_id)
                & ((real["day"] - day).abs() <= pd.Timedelta(days=7))
            ]
            counts = near.groupby(["day", "model"]).size().rename("calls").reset_index()
            counts["distance"] = (counts["day"] - day).abs()
            best = counts.sort_values(["distance", "calls", "model"], ascending=[True, False, True])
            expected[call.call_key] = best["model"].iloc[0] if len(best) else "<synthetic>"
    attributed = marts.set_index("call_key").loc[list(expected)]
    assert attributed["model"].to_dict() == expected
    assert attributed["is_error"].all()
    # the session and user stay the line's own
    assert attributed["user_id"].tolist() == synthetic.set_index("call_key").loc[list(expected), "user_id"].tolist()
    # every error (of every source) is counted once, under a real model
    assert sum(errors.values()) == raw_errors


def test_usage_reports_attribute_errors_as_the_marts_do(built_home):
    """`aioa report model` renders dbt's rule (one macro): per model, its errors and tokens are the marts'."""
    from aioa.reports import usage_report
    from aioa.warehouse.access import TenantScope

    settings = Settings(home=built_home)
    with connect_reader(current_snapshot(settings)[1], settings) as connection:
        report = usage_report(connection, "model", scope=TenantScope.all_orgs())
        marts = {
            model: (int(errors), int(tokens))
            for model, errors, tokens in connection.execute(
                "select model, sum(error_calls), sum(total_tokens) from marts.agg_usage_daily group by 1"
            ).fetchall()
        }
    assert {row["model"]: (row["errors"], row["total_tokens"]) for row in report} == marts
    assert "<synthetic>" not in marts and sum(errors for errors, _ in marts.values()) > 10


def test_the_reports_render_the_macro_as_jinja_does():
    """The reports put `calls` into the macro's plain SQL without jinja2: the very text Jinja renders, and a macro
    with more Jinja in it goes to jinja2."""
    import jinja2

    from aioa.reports.usage import render_synthetic_attribution, synthetic_attribution_sql
    from aioa.warehouse.dbt.runner import DBT_PROJECT_DIR

    def jinja(text: str, calls: str) -> str:
        return str(jinja2.Environment(autoescape=False).from_string(text).module.synthetic_attribution(calls))

    macro = (DBT_PROJECT_DIR / "macros" / "synthetic_errors.sql").read_text()
    assert synthetic_attribution_sql("calls") == jinja(macro, "calls")
    assert "{{" not in synthetic_attribution_sql("calls") and "from calls" in synthetic_attribution_sql("calls")
    templated = macro.replace("where model = '<synthetic>'", 'where model = \'{{ "<" ~ "synthetic>" }}\'', 1)
    assert templated != macro
    for text in (macro, templated, macro.replace("\n", "\r\n")):
        for calls in ("calls", "raw.llm_calls"):
            assert render_synthetic_attribution(text, calls) == jinja(text, calls)
