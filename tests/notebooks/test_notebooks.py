"""The analyst notebooks: each runs top to bottom on the sample snapshot (nbclient, the venv's `python3` kernel) and
its key numbers equal independent queries on that snapshot; without a snapshot each says so in one line; the
committed notebooks carry no outputs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from aioa.settings import PROJECT_ROOT, Settings
from aioa.warehouse.snapshots import open_snapshot
from tests.conftest import SHARED_DATA

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 600  # one cell (the routing evaluation) fits a model; generous for a loaded CI machine
# The routing notebook evaluates all 57 MMLU subjects by default (minutes); three subjects exercise the same code.
MMLU_SUBJECTS = ["anatomy", "virology", "high_school_physics"]
OVERRIDES = {"routing_evaluation": ("MMLU_SUBJECTS: list[str] | None = None", f"MMLU_SUBJECTS = {MMLU_SUBJECTS!r}")}


def _execute(notebook: nbformat.NotebookNode, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOA_HOME", str(home))  # the kernel inherits the test's environment
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
    )
    client.execute()


def _read(path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    if path.stem in OVERRIDES:
        old, new = OVERRIDES[path.stem]
        cells = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
        assert cells and old in cells[0].source, f"{path.name}: parameters cell changed; update OVERRIDES"
        cells[0].source = cells[0].source.replace(old, new)
    return notebook


@pytest.fixture(scope="module")
def executed(built_home: Path, sample_dir: Path, tmp_path_factory):
    """Runs a notebook once per module on its own copy of the built home (notebooks may write MLflow runs)."""
    results: dict[str, tuple[nbformat.NotebookNode, Path]] = {}

    def run(path: Path) -> tuple[nbformat.NotebookNode, Path]:
        if path.stem not in results:
            home = tmp_path_factory.mktemp(path.stem) / "home"
            shutil.copytree(built_home, home)
            shutil.copytree(sample_dir / "labels", home / "sample" / "labels")  # where `make demo` puts them
            notebook = _read(path)
            with pytest.MonkeyPatch.context() as monkeypatch:
                try:
                    _execute(notebook, home, monkeypatch)
                except CellExecutionError as error:
                    pytest.fail(f"{path.name} failed on the sample snapshot:\n{str(error)[-3000:]}")
            results[path.stem] = (notebook, home)
        return results[path.stem]

    return run


def _summary(notebook: nbformat.NotebookNode) -> dict:
    """The JSON record the notebook's `summary` cell displays."""
    for cell in notebook.cells:
        if "summary" in cell.metadata.get("tags", []):
            for output in cell.outputs:
                if "application/json" in output.get("data", {}):
                    return output["data"]["application/json"]
    raise AssertionError("no summary output")


def _query(home: Path, sql: str) -> pd.DataFrame:
    connection, _ = open_snapshot(Settings(home=home))
    with connection:
        return connection.execute(sql).df()


def test_there_are_the_expected_notebooks():
    assert {"cost_deep_dive", "routing_evaluation", "sql_starter"} <= {path.stem for path in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_notebooks_have_no_outputs(path: Path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code"
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; strip them before committing"
    assert notebook.cells[0].cell_type == "markdown", f"{path.name} should open with a markdown intro"


def test_the_kernel_is_the_venv_interpreter(monkeypatch, tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.prefix)")])
    _execute(notebook, tmp_path, monkeypatch)
    assert Path(notebook.cells[0].outputs[0]["text"].strip()).resolve() == Path(sys.prefix).resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_on_the_sample_without_errors(path: Path, executed):
    notebook, _ = executed(path)
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
    assert all(cell.execution_count for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_without_a_snapshot_a_notebook_says_so_in_one_line(path: Path, monkeypatch, tmp_path):
    notebook = _read(path)
    with pytest.raises(CellExecutionError):
        _execute(notebook, tmp_path / "empty-home", monkeypatch)
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert len(errors) == 1
    shown = "\n".join(errors[0]["traceback"])
    assert "make demo" in shown and "aioa run" in shown
    assert "Traceback" not in shown and "File " not in shown, f"a traceback instead of a message:\n{shown}"


def test_cost_deep_dive_numbers_match_the_snapshot(executed):
    notebook, home = executed(NOTEBOOK_DIR / "cost_deep_dive.ipynb")
    summary = _summary(notebook)
    # Independently: from the fact table (the notebook reads the daily aggregate and the raw calls).
    by_org = _query(home, "select org_id, sum(cost_usd) as cost from marts.fct_llm_calls group by org_id")
    total = float(by_org["cost"].sum())
    assert total > 100
    assert summary["total_spend_usd"] == pytest.approx(total, abs=1e-5)
    assert summary["report_total_usd"] == pytest.approx(total, abs=1e-5)
    assert summary["spend_by_org_usd"] == pytest.approx(
        dict(zip(by_org["org_id"], by_org["cost"], strict=True)), abs=1e-5
    )
    calls = _query(home, "select count(*) as n from marts.fct_llm_calls")["n"].iloc[0]
    assert summary["calls"] == calls
    top = _query(
        home, "select model from marts.fct_llm_calls group by model order by sum(cost_usd) desc nulls last limit 1"
    )["model"].iloc[0]
    assert summary["top_model"] == top
    over = _query(
        home,
        """
        select count(*) as n from (
            select c.org_id, date_trunc('month', c.ts_utc) as month, sum(c.cost_usd) as cost,
                   max(o.monthly_budget_usd) as budget
            from marts.fct_llm_calls c join marts.dim_orgs o using (org_id) group by all)
        where cost > budget""",
    )["n"].iloc[0]
    assert summary["months_over_budget"] == over


def test_sql_starter_examples_match_the_snapshot(executed):
    notebook, home = executed(NOTEBOOK_DIR / "sql_starter.ipynb")
    summary = _summary(notebook)
    by_model = _query(home, "select model, sum(cost_usd) as cost from marts.fct_llm_calls group by model")
    expected = {row.model: None if pd.isna(row.cost) else row.cost for row in by_model.itertuples()}
    assert set(summary["spend_by_model_usd"]) == set(expected)
    for model, cost in expected.items():
        assert summary["spend_by_model_usd"][model] == (None if cost is None else pytest.approx(cost, abs=1e-5))
    assert summary["refused"] and all(summary["refused"].values())  # every hostile example was refused
    assert summary["one_org_rows"] == ["acme"]  # the tenant filter kept one org
    assert "marts.fct_llm_calls" in summary["tables"]


def test_routing_evaluation_numbers_match_the_snapshot(executed):
    notebook, home = executed(NOTEBOOK_DIR / "routing_evaluation.ipynb")
    summary = _summary(notebook)
    assert summary["handoffs"] == _query(home, "select count(*) as n from marts.fct_handoffs")["n"].iloc[0]
    # The cheap and strong models: the targets with the lowest and highest cost per token.
    per_token = _query(
        home,
        """
        select target_model, sum(cost_usd) / sum(input_tokens + output_tokens) as usd_per_token
        from marts.fct_handoffs group by target_model order by usd_per_token""",
    )
    handoffs = summary["handoffs_evaluation"]
    assert handoffs["cheap_model"] == per_token["target_model"].iloc[0]
    assert handoffs["strong_model"] == per_token["target_model"].iloc[-1]
    assert handoffs["outcomes"] == "expected"  # scored on the sample's true probabilities
    apgr = handoffs["apgr"]
    assert apgr["router"] > apgr["keyword_heuristic_v1"] > apgr["random"]
    assert apgr["router"] <= apgr["oracle"] + 0.01
    assert handoffs["cpt_50"] < 0.5


def test_routing_evaluation_mmlu_numbers(executed):
    summary = _summary(executed(NOTEBOOK_DIR / "routing_evaluation.ipynb")[0])
    mmlu = SHARED_DATA / "routellm-mmlu"
    if not mmlu.exists():
        assert summary["mmlu_evaluation"] is None  # the notebook says it has no MMLU data
        pytest.skip(f"{mmlu} is absent: the notebook's MMLU numbers are not checked")
    prompts = pd.concat([pd.read_csv(mmlu / f"mmlu_{subject}.csv")["prompt"] for subject in MMLU_SUBJECTS])
    assert summary["mmlu_questions"] == prompts.astype(str).nunique()
    assert summary["mmlu_evaluation"]["outcomes"] == "observed"


def test_the_cost_notebooks_queries_match_the_fact_table(built_home):
    """`spend_vs_budget` and `token_mix` (added for the cost deep-dive) against the call-level fact table."""
    from aioa.analytics import Filters, spend_vs_budget, token_mix
    from aioa.warehouse.access import TenantScope

    connection, _ = open_snapshot(Settings(home=built_home))
    with connection:
        budgets = spend_vs_budget(connection, Filters(), TenantScope.all_orgs())
        expected = connection.execute("""
            select date_trunc('month', ts_utc)::date as month, org_id, sum(cost_usd) as cost
            from marts.fct_llm_calls group by all""").df()
        acme = spend_vs_budget(connection, Filters(), TenantScope.for_orgs("acme"))
        mix = token_mix(connection, Filters(), TenantScope.all_orgs(), "model").set_index("model")
        tokens = (
            connection.execute("""
            select model, sum(input_tokens) as input, sum(cache_read_tokens) as cache_read,
                   sum(cache_write_tokens) as cache_write, sum(output_tokens) as output
            from marts.fct_llm_calls group by model""")
            .df()
            .set_index("model")
        )
    merged = budgets.merge(expected, on=["month", "org_id"], how="outer", validate="one_to_one")
    assert len(merged) == len(budgets) == len(expected) and len(budgets) >= 8
    assert merged["cost_usd"].to_numpy() == pytest.approx(merged["cost"].to_numpy(), abs=1e-6)
    with_budget = budgets.dropna(subset=["monthly_budget_usd"])
    assert set(with_budget["org_id"]) == {"acme", "globex", "initech"}  # the sample's budgeted orgs
    assert with_budget["budget_used"].to_numpy() == pytest.approx(
        (with_budget["cost_usd"] / with_budget["monthly_budget_usd"]).to_numpy()
    )
    assert budgets.loc[budgets["org_id"] == "default", "budget_used"].isna().all()  # no budget: no share
    assert set(acme["org_id"]) == {"acme"}
    assert mix.loc[tokens.index, "output_tokens"].astype(float).to_numpy() == pytest.approx(tokens["output"])
    hit_rate = tokens["cache_read"] / (tokens["input"] + tokens["cache_read"] + tokens["cache_write"])
    priced = hit_rate.dropna().index
    assert mix.loc[priced, "cache_hit_rate"].astype(float).to_numpy() == pytest.approx(hit_rate[priced].to_numpy())
