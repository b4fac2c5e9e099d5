"""What limits the router on generated data split by template? Diagnostics, not routers: each fits the generator's
TRUE P(cheap) − P(strong) (evaluation truth that no production router has) on the training templates and ranks the
held-out templates, on the same split as `routing_benchmark.py`:

- `router_features_fit_to_truth`: the router's own feature pipeline (`model.build_pipeline`'s features) with a
  ridge regression on the true difference: the best these features can do with noise-free labels;
- `visible_cues_without_level` / `visible_cues_with_level`: a perfect reader of the visible cues the grammar can
  put in a text (family, "legacy", scope phrase, language, constraints mentioned), without and with the template's
  hidden easy/medium/hard level.

If the first is far below the Bayes-optimal router from the text, the gap is what the features cannot carry to
unseen templates, not the one-sided outcomes. Writes benchmarks/results/routing_ceiling.json.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
from routing_benchmark import RESULTS, generated_handoffs
from sklearn.linear_model import Ridge


def visible_cues(frame: pd.DataFrame, levels: dict[str, int] | None) -> pd.DataFrame:
    from aioa.generate import handoffs as grammar

    text = frame["task_text"].str.lower()
    columns = {f"family_{family}": (frame["task_type"] == family).astype(float) for family in grammar.TASK_TYPES}
    columns["legacy"] = text.str.contains("legacy").astype(float)
    for index, (_, phrases) in enumerate(grammar.SCOPES):
        columns[f"scope_{index}"] = text.map(lambda value, p=phrases: any(x in value for x in p)).astype(float)
    for language, _ in grammar.LANGUAGES:
        columns[language] = text.str.contains(language.lower(), regex=False).astype(float)
    columns["constraints"] = text.map(lambda value: sum(c in value for c in grammar.CONSTRAINTS)).astype(float)
    if levels is not None:
        columns["level"] = frame["template_id"].map(levels).astype(float)
    return pd.DataFrame(columns)


def main() -> None:
    from ml.routing import metrics
    from ml.routing.data import attach_templates, from_handoffs, split_by_template
    from ml.routing.model import build_pipeline, features_frame

    from aioa.generate.handoffs import FAMILIES

    levels = {f"{family}/t{i}": level for family, (_, items) in FAMILIES.items() for i, (level, _) in enumerate(items)}
    with tempfile.TemporaryDirectory() as work:
        handoffs, truth = generated_handoffs(Path(work) / "small", "small", 7)
    data = attach_templates(from_handoffs(handoffs), truth)
    train, test = split_by_template(data.frame, seed=42)
    columns = [
        "task_id",
        "p_success_cheap",
        "p_success_strong",
        "p_success_cheap_from_text",
        "p_success_strong_from_text",
    ]
    train_truth = train[["task_id"]].merge(truth[columns], on="task_id")
    test_truth = test[["task_id"]].merge(truth[columns], on="task_id")
    target = (train_truth["p_success_cheap"] - train_truth["p_success_strong"]).to_numpy()
    features = build_pipeline()[0]
    fitted = features.fit_transform(features_frame(train))
    scores = {
        "router_features_fit_to_truth": Ridge(alpha=1.0)
        .fit(fitted, target)
        .predict(features.transform(features_frame(test))),
        "visible_cues_without_level": Ridge(alpha=1.0)
        .fit(visible_cues(train, None), target)
        .predict(visible_cues(test, None)),
        "visible_cues_with_level": Ridge(alpha=1.0)
        .fit(visible_cues(train, levels), target)
        .predict(visible_cues(test, levels)),
        "bayes_text": (test_truth["p_success_cheap_from_text"] - test_truth["p_success_strong_from_text"]).to_numpy(),
    }
    cheap, strong = test_truth["p_success_cheap"].to_numpy(), test_truth["p_success_strong"].to_numpy()
    costs = test["cheap_cost_usd"].to_numpy(), test["strong_cost_usd"].to_numpy()
    rows = {}
    for name, values in scores.items():
        summary = metrics.summary(metrics.routing_curve(values, cheap, strong, *costs))
        rows[name] = {"apgr": round(summary["apgr"], 4), "cost_saved": round(summary["cost_saved_at_95pct_quality"], 4)}
    for row in rows.values():
        row["savings_share_of_bayes_text"] = round(row["cost_saved"] / rows["bayes_text"]["cost_saved"], 3)
    for name, row in rows.items():
        print(
            f"{name:32} APGR {row['apgr']:.3f}  cost saved at 95% {row['cost_saved']:.3f}  "
            f"({row['savings_share_of_bayes_text']:.0%} of Bayes-optimal from the text)"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "routing_ceiling.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
