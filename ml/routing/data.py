"""Routing datasets: one row per task with the cheap and strong models' outcomes where known.

From handoffs (`marts.fct_handoffs`): the target's outcome is `success`; `alternatives_json` carries other models'
known outcomes. From RouteLLM-format CSVs: `prompt`, then one correctness column per model, the first one being the
weak (cheap) model; the subject (file name) is the task type.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = [
    "task_id",
    "task_text",
    "task_type",
    "project_id",
    "input_tokens",
    "cheap_success",
    "strong_success",
    "cheap_cost_usd",
    "strong_cost_usd",
    "cheap_latency_ms",
    "strong_latency_ms",
]


class RoutingDataError(ValueError):
    """The data cannot train or evaluate a router; the message says what is missing."""


@dataclass(frozen=True)
class RoutingData:
    frame: pd.DataFrame  # COLUMNS
    cheap_model: str
    strong_model: str


def _require_task_text(rows: pd.DataFrame) -> None:
    """The router learns from the task's words: refuse handoffs whose text was not stored (AIOA_STORE_TEXT)."""
    from aioa.ingest.stored_text import REDACTED_PREFIX

    texts = rows["task_text"].dropna().astype(str)
    if not rows.empty and (texts.empty or texts.str.startswith(REDACTED_PREFIX).all()):
        raise RoutingDataError(
            "the handoffs' task text is not stored (AIOA_STORE_TEXT=none or redacted): the router learns from the "
            "task's words and cannot train on it; ingest handoff logs with AIOA_STORE_TEXT=full to train one"
        )


def from_handoffs(
    handoffs: pd.DataFrame, cheap_model: str | None = None, strong_model: str | None = None
) -> RoutingData:
    """Tasks from handoff rows; the cheap model is the target with the lowest mean cost per token if not given."""
    if handoffs.empty:
        raise RoutingDataError("no handoffs yet: ingest handoff logs (`aioa ingest handoffs`) and run `aioa run`")
    targets = (
        handoffs.groupby("target_model")
        .apply(
            lambda group: group["cost_usd"].sum() / max(1, (group["input_tokens"] + group["output_tokens"]).sum()),
            include_groups=False,
        )
        .sort_values()
    )
    if len(targets) < 2 and (cheap_model is None or strong_model is None):
        raise RoutingDataError("handoffs go to one target model only: a router needs outcomes of two models")
    cheap_model = cheap_model or targets.index[0]
    strong_model = strong_model or targets.index[-1]
    rows = handoffs[handoffs["success"].notna()].copy()
    if "outcome_verified" in rows:
        rows = rows[rows["outcome_verified"].fillna(False)]
    _require_task_text(rows)
    outcomes = {model: rows["success"].where(rows["target_model"] == model) for model in (cheap_model, strong_model)}
    alternatives = rows["alternatives_json"].map(_parse_alternatives)
    for model in (cheap_model, strong_model):
        from_alternatives = alternatives.map(lambda items, m=model: items.get(m))
        outcomes[model] = outcomes[model].where(outcomes[model].notna(), from_alternatives)
    frame = pd.DataFrame(
        {
            "task_id": rows["task_id"].astype(str),
            "task_text": rows["task_text"].fillna(""),
            "task_type": rows["task_type"].fillna("unknown"),
            "project_id": rows["project_id"].fillna("unknown"),
            "input_tokens": rows["input_tokens"].fillna(0).astype(float),
            "cheap_success": outcomes[cheap_model].astype("float"),
            "strong_success": outcomes[strong_model].astype("float"),
        }
    )
    _add_costs(frame, rows, cheap_model, strong_model)
    return RoutingData(frame.reset_index(drop=True), cheap_model, strong_model)


def _parse_alternatives(value) -> dict:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return {}
    items = json.loads(value) if isinstance(value, str) else value
    return {item["model"]: item.get("success") for item in items or [] if item.get("success") is not None}


def _add_costs(frame: pd.DataFrame, rows: pd.DataFrame, cheap_model: str, strong_model: str) -> None:
    for tier, model in (("cheap", cheap_model), ("strong", strong_model)):
        chosen = rows[rows["target_model"] == model]
        per_token = chosen["cost_usd"].sum() / max(1, (chosen["input_tokens"] + chosen["output_tokens"]).sum())
        tokens = rows["input_tokens"].fillna(0) + rows["output_tokens"].fillna(0)
        frame[f"{tier}_cost_usd"] = (tokens * per_token).to_numpy()
        latency = chosen["latency_ms"].mean() if len(chosen) else np.nan  # NA: evaluation data carries no latency
        frame[f"{tier}_latency_ms"] = float(latency) if pd.notna(latency) else np.nan


def from_routing_csvs(path: Path, cheap_model: str | None = None, strong_model: str | None = None) -> RoutingData:
    """RouteLLM evaluation CSVs (a file or a folder of them): `prompt`, then one correctness column (true/false) per
    model; other columns (model responses, for instance) are ignored and never become features. The cheap and
    strong models default to the first two correctness columns; costs are per-token list-price ratios of the
    pair."""
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files:
        raise RoutingDataError(f"no CSV files in {path}")
    frames, models = [], None
    for file in files:
        data = pd.read_csv(file)
        correctness = [column for column in data.columns[1:] if _is_correctness(data[column])]
        if data.columns[0] != "prompt" or len(correctness) < 2:
            raise RoutingDataError(
                f"{file.name}: expected columns prompt, then a true/false correctness column per model (at least two)"
            )
        models = models or (cheap_model or correctness[0], strong_model or correctness[1])
        missing = [model for model in models if model not in data.columns]
        if missing:
            raise RoutingDataError(f"{file.name}: no correctness column for {missing}")
        frames.append(
            pd.DataFrame(
                {
                    "task_text": data["prompt"].astype(str),
                    "task_type": file.stem.removeprefix("mmlu_"),
                    "cheap_success": _outcome(data[models[0]]),
                    "strong_success": _outcome(data[models[1]]),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    frame["task_id"] = frame["task_text"].map(lambda text: hashlib.sha256(text.encode()).hexdigest()[:16])
    frame = frame.drop_duplicates("task_id").reset_index(drop=True)
    frame["project_id"] = "benchmark"
    frame["input_tokens"] = frame["task_text"].str.len() / 4.0
    # Cost per task from input tokens at 2024 list prices: GPT-4 Turbo $10/M, Mixtral 8x7B about $0.6/M (hosted).
    frame["cheap_cost_usd"] = frame["input_tokens"] * 0.6e-6
    frame["strong_cost_usd"] = frame["input_tokens"] * 10e-6
    frame["cheap_latency_ms"] = np.nan
    frame["strong_latency_ms"] = np.nan
    return RoutingData(frame[COLUMNS], models[0], models[1])


def _outcome(column: pd.Series) -> pd.Series:
    return column.map(lambda value: {"true": 1.0, "false": 0.0}.get(str(value).lower(), value)).astype(float)


def _is_correctness(column: pd.Series) -> bool:
    values = set(column.dropna().unique().tolist())
    return bool(values) and values <= {0, 1, "True", "False", "true", "false"}


def split_by_task(frame: pd.DataFrame, test_share: float = 0.3, seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded split by task id (a question never appears on both sides)."""
    salt = str(seed).encode()
    bucket = frame["task_id"].map(lambda task: int(hashlib.sha256(salt + task.encode()).hexdigest()[:8], 16) / 2**32)
    return frame[bucket >= test_share].reset_index(drop=True), frame[bucket < test_share].reset_index(drop=True)


def split_by_group(
    frame: pd.DataFrame, column: str = "task_type", test_share: float = 0.3, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded split by whole groups (e.g. MMLU subjects): the held-out groups are never seen in training, so the
    model cannot lean on a group's base rate."""
    salt = str(seed).encode()
    groups = sorted(frame[column].astype(str).unique())
    ranked = sorted(groups, key=lambda group: hashlib.sha256(salt + group.encode()).hexdigest())
    held = set(ranked[: max(1, round(test_share * len(groups)))])
    test = frame[column].astype(str).isin(held)
    return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)


def split_by_template(
    frame: pd.DataFrame, test_share: float = 0.3, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generated tasks split by the template their text came from: held-out templates never appear in training."""
    if "template_id" not in frame:
        raise RoutingDataError("a split by template needs template ids (the generator's labels/routing_truth.csv)")
    return split_by_group(frame, "template_id", test_share, seed)


SPLITS = {"task": split_by_task, "group": split_by_group, "template": split_by_template}


def attach_templates(data: RoutingData, truth: pd.DataFrame) -> RoutingData:
    """The generator's template id per task, for a split by template; nothing else of the truth is joined (its
    difficulty and success probabilities never reach training input)."""
    if "template_id" not in truth:
        raise RoutingDataError("the generator's truth carries no template ids: regenerate the sample")
    frame = data.frame.drop(columns="template_id", errors="ignore")
    frame = frame.merge(truth[["task_id", "template_id"]], on="task_id", how="left")
    frame["template_id"] = frame["template_id"].fillna("unknown")
    return RoutingData(frame, data.cheap_model, data.strong_model)


def read_generated_handoffs(folder: Path) -> pd.DataFrame:
    """A generated sample's handoff logs (`<folder>/handoffs/*.jsonl`) as the columns `marts.fct_handoffs` gives the
    router."""
    import duckdb

    with duckdb.connect() as connection:
        return connection.execute(
            """
            select task_id, task_text, task_type, project_id, target_model, success, true as outcome_verified,
                   input_tokens, output_tokens, cost_usd, latency_ms, to_json(alternatives) as alternatives_json
            from read_json(?, format = 'newline_delimited')
            """,
            [str(folder / "handoffs" / "handoffs-*.jsonl")],
        ).df()


def from_generated(folder: Path) -> tuple[RoutingData, pd.DataFrame]:
    """A generated sample's handoffs with the generator's truth (`<folder>/labels/routing_truth.csv`) for expected
    outcomes and splits by template."""
    truth_path = folder / "labels" / "routing_truth.csv"
    if not (folder / "handoffs").is_dir() or not truth_path.exists():
        raise RoutingDataError(f"{folder} is not a generated sample (handoffs/ and labels/routing_truth.csv)")
    return from_handoffs(read_generated_handoffs(folder)), pd.read_csv(truth_path)
