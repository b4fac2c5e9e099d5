"""Measure the anomaly detector over many generated seeds: recall per magnitude bucket, precision, and false alarms
per org-month on anomaly-free data.

Each dataset is the small sample (`aioa generate`, 120 days) of one seed, with or without anomalies, read by the
production ingest (attribution, pricing, de-duplication) into a fresh home, whose marts the production dbt models
build (`dbt run` through the `aioa-dbt` launcher, selecting the three marts the detector reads and what they are
made from: `fct_llm_calls`, `agg_usage_hourly`, `agg_usage_daily`). Those three tables are copied whole into a file
of their own; the detector gets a read-only connection to it: no label, magnitude or generator truth can reach it
or its thresholds. The sample is written in an anonymous temporary folder, so that no path a mart keeps
(`source_file`) says whether the seed has anomalies. Labels are read afterwards, only to score.

Recall counts the labels whose anomaly changed something observable; a latency label whose model had no span in
its window (a quiet day) changed nothing, is reported apart (`unobservable_labels`) and also counted as a miss in
`recall_by_bucket_counting_unobservable`. A detection matches a label by the production rule (evaluate.py).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from aioa.warehouse.sql import execute_script, sql_string
from ml.anomalies.config import GRAINS
from ml.anomalies.evaluate import load_labels, matches

BUCKETS = ("1.5-2x", "2-3x", "3-5x", "5-10x")
TARGETS = {  # issue 14: recall >= 0.9 at >= 3x and >= 0.5 at 1.5-2x, precision >= 0.9, <= 1 false alarm per org-month
    "recall_at_3x_or_more": 0.9,
    "recall_1.5-2x": 0.5,
    "precision": 0.9,
    "false_alarms_per_org_month": 1.0,
}
DAYS_PER_MONTH = 30.4375
UNSCORED_DAYS = 28  # the first four weeks give the daily series their history; nothing can be flagged in them
MARTS_BUILT_BY = "dbt"  # a cached dataset built otherwise (an older shortcut copy of the SQL) is rebuilt
MARTS = ("fct_llm_calls", "agg_usage_hourly", "agg_usage_daily")  # what the detector reads
# the marts copied whole (production columns) into the detector's input; the names are the fixed ones above
COPY_MARTS_SQL = """
create schema marts;
create table marts.fct_llm_calls as select * from source.marts.fct_llm_calls;
create table marts.agg_usage_hourly as select * from source.marts.agg_usage_hourly;
create table marts.agg_usage_daily as select * from source.marts.agg_usage_daily;
"""

Detector = Callable[[duckdb.DuckDBPyConnection], pd.DataFrame]


def production_detector(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """What `aioa anomalies` and the Dagster asset run: both grains, the fixed thresholds of config.py."""
    from ml.anomalies.detect import detect

    result = detect(connection, GRAINS)
    alerts = result.anomalies
    alerts.attrs["detections"] = result.detections  # before merging: the counting used until 2026-11-30
    return alerts


@dataclass(frozen=True)
class Dataset:
    seed: int
    with_anomalies: bool
    marts: Path  # a DuckDB file holding only the schema `marts`
    labels: Path  # the generator's labels/anomalies.json (empty list for anomaly-free data)
    org_months: float  # orgs with usage x months in which anomalies can be flagged


def build_dataset(seed: int, work: Path, *, with_anomalies: bool = True) -> Dataset:
    """Generate, ingest and build the detector's marts for one seed; reuses a dataset already built in `work`."""
    folder = Path(work) / f"seed-{seed}-{'anomalies' if with_anomalies else 'clean'}"
    marts, labels, meta = folder / "detector_input.duckdb", folder / "anomalies.json", folder / "dataset.json"
    if not (meta.exists() and json.loads(meta.read_text()).get("marts") == MARTS_BUILT_BY):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with tempfile.TemporaryDirectory() as scratch:  # an anonymous path: marts keep the source files' paths
            warehouse = _generate_and_build(seed, Path(scratch), with_anomalies)
            shutil.copy(Path(scratch) / "sample" / "labels" / "anomalies.json", labels)
            marts.unlink(missing_ok=True)
            connection = duckdb.connect(str(marts))
            with connection:
                connection.execute(f"attach {sql_string(str(warehouse))} as source (read_only)")  # no ? in ATTACH
                execute_script(connection, COPY_MARTS_SQL)
                connection.execute("detach source")
                orgs, days = connection.execute(
                    "select count(distinct org_id), count(distinct day) from marts.fct_llm_calls"
                ).fetchone()
        meta.write_text(
            json.dumps({"org_months": orgs * max(days - UNSCORED_DAYS, 0) / DAYS_PER_MONTH, "marts": MARTS_BUILT_BY})
        )
    org_months = json.loads(meta.read_text())["org_months"]
    return Dataset(seed, with_anomalies, marts, labels, org_months)


def _generate_and_build(seed: int, scratch: Path, with_anomalies: bool) -> Path:
    """Generate the sample, ingest the sources whose rows are calls, build the detector's marts with dbt; returns
    the warehouse file."""
    from aioa.generate import generate
    from aioa.ingest.registry import BY_NAME
    from aioa.ingest.runner import ingest
    from aioa.pipeline import SourcePaths
    from aioa.settings import Settings
    from aioa.warehouse.dbt.runner import run_dbt

    sample, home = scratch / "sample", scratch / "home"
    generate(sample, size="small", seed=seed, with_anomalies=with_anomalies)
    home.mkdir()
    shutil.copy(sample / "attribution.yaml", home / "attribution.yaml")
    settings, sources = Settings(home=home, warehouse="duckdb"), SourcePaths.from_sample(sample)
    for name in ("claude_code", "otel"):  # the sources the marts' calls come from (handoffs are not calls)
        ingest(BY_NAME[name].source(), getattr(sources, name), settings, publish=False)
    result = run_dbt(settings, "run", "--select", " ".join(f"+{name}" for name in MARTS))
    if not result.ok:
        raise RuntimeError(f"dbt could not build the detector's marts for seed {seed}:\n{result.log_tail}")
    return settings.warehouse_path


def detector_input(dataset: Dataset) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the dataset's marts: all the detector may see."""
    return duckdb.connect(str(dataset.marts), read_only=True)


def input_columns(connection: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Every table and column the connection offers (schema.table -> columns)."""
    rows = connection.execute(
        "select table_schema || '.' || table_name, column_name from information_schema.columns "
        "where table_catalog = current_database() order by all"
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


@dataclass
class SeedOutcome:
    seed: int
    with_anomalies: bool
    detections: int
    false_alarms: int  # detections matching no label
    org_months: float
    labels: list[dict] = field(default_factory=list)  # each label with `found`
    unmatched: list[dict] = field(default_factory=list)  # each alert matching no label: what raised it
    per_detection: tuple[int, int] | None = None  # (detections, correct) before merging into alerts, when known


def alert_source(alert) -> str:
    """Which detector raised an alert (its speaking detection: the first part of its evidence)."""
    first = str(alert.get("evidence", "")).split("; ")[0]  # a stand-in detector may leave evidence out
    if not first:
        return "unknown"
    if first.startswith("session "):
        return f"session {first.split()[-1]}"
    if alert["kind"] == "latency_degradation":
        return "latency"
    parts = first.split(", ")
    level = "org" if any(part.startswith("org ") for part in parts) else "user"
    metrics = "+".join(sorted({part.split()[-1] for part in parts}))
    return f"{alert.get('grain', '?')} {level} {metrics}"


def score_dataset(dataset: Dataset, detector: Detector = production_detector) -> SeedOutcome:
    connection = detector_input(dataset)
    with connection:
        detections = detector(connection)
    labels = load_labels(dataset.labels) if json.loads(dataset.labels.read_text()) else None
    if labels is None or detections.empty:
        found, correct = set(), set()
    else:
        pairs = matches(detections.reset_index(drop=True), labels)
        found, correct = set(pairs["label"]), set(pairs["detection"])
    rows = []
    if labels is not None:
        for index, label in labels.iterrows():
            rows.append(
                {
                    "kind": label["kind"],
                    "org_id": label["org_id"],
                    "start": str(label["start"]),
                    "magnitude": float(label["magnitude"]),
                    "magnitude_bucket": label["magnitude_bucket"],
                    "quiet_day": bool(label["quiet_day"]),
                    # a latency label whose model had no span in the window changed nothing that can be seen
                    "observable": not (pd.notna(label.get("affected_calls")) and label.get("affected_calls") == 0),
                    "found": index in found,
                }
            )
    every = detections.attrs.get("detections")
    per_detection = None
    if every is not None:
        correct_detections = (
            len(set(matches(every.reset_index(drop=True), labels)["detection"]))
            if labels is not None and len(every)
            else 0
        )
        per_detection = (len(every), correct_detections)
    unmatched = []
    for index, alert in detections.reset_index(drop=True).iterrows():
        if index in correct:
            continue
        near = (
            labels[
                (labels["org_id"] == alert["org_id"])
                & (labels["start"] < alert["end"] + pd.Timedelta(days=1))
                & (alert["start"] - pd.Timedelta(days=1) <= labels["end"])
            ]
            if labels is not None
            else []
        )
        unmatched.append(
            {
                "kind": alert["kind"],
                "source": alert_source(alert),
                "score": float(alert.get("score", float("nan"))),
                # a label of the same org within a day: another kind, or the event's spill, rather than noise
                "near_label": ",".join(near["kind"]) if len(near) else "",
            }
        )
    return SeedOutcome(
        dataset.seed,
        dataset.with_anomalies,
        len(detections),
        len(detections) - len(correct),
        dataset.org_months,
        rows,
        unmatched,
        per_detection,
    )


def wilson(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion (95% by default); (nan, nan) without trials."""
    if total == 0:
        return (float("nan"), float("nan"))
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (float(centre - half), float(centre + half))


def _rate_interval(alarms: np.ndarray, org_months: np.ndarray, resamples: int = 2000) -> tuple[float, float]:
    """Bootstrap over seeds (95%) of false alarms per org-month."""
    if len(alarms) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(alarms), (resamples, len(alarms)))
    rates = alarms[picks].sum(axis=1) / org_months[picks].sum(axis=1)
    return (float(np.quantile(rates, 0.025)), float(np.quantile(rates, 0.975)))


def _proportion(successes: int, total: int) -> dict:
    low, high = wilson(successes, total)
    return {"n": total, "hits": successes, "value": successes / total if total else None, "ci95": [low, high]}


def summarise(outcomes: Iterable[SeedOutcome]) -> dict:
    """Recall per magnitude bucket, per kind and per day type, precision, false alarms per org-month; the targets."""
    outcomes = list(outcomes)
    labelled = [outcome for outcome in outcomes if outcome.with_anomalies]
    clean = [outcome for outcome in outcomes if not outcome.with_anomalies]
    every_label = pd.DataFrame([label for outcome in labelled for label in outcome.labels])
    if every_label.empty:
        every_label = pd.DataFrame(
            columns=["kind", "magnitude_bucket", "quiet_day", "found", "magnitude", "observable"]
        )
    labels = every_label[every_label["observable"].astype(bool)]

    def recall(frame: pd.DataFrame) -> dict:
        return _proportion(int(frame["found"].sum()), len(frame))

    detections = sum(outcome.detections for outcome in labelled)
    matched = detections - sum(outcome.false_alarms for outcome in labelled)
    alarms = np.array([outcome.false_alarms for outcome in clean], dtype=float)
    months = np.array([outcome.org_months for outcome in clean], dtype=float)
    rate = float(alarms.sum() / months.sum()) if months.sum() else None
    strong = labels[labels["magnitude_bucket"].isin(["3-5x", "5-10x"])]
    summary = {
        "seeds": sorted({outcome.seed for outcome in labelled}),
        "clean_seeds": sorted({outcome.seed for outcome in clean}),
        "recall_by_bucket": {bucket: recall(labels[labels["magnitude_bucket"] == bucket]) for bucket in BUCKETS},
        "recall_by_bucket_counting_unobservable": {
            bucket: recall(every_label[every_label["magnitude_bucket"] == bucket]) for bucket in BUCKETS
        },
        "unobservable_labels": int((~every_label["observable"].astype(bool)).sum()),
        "recall_at_3x_or_more": recall(strong),
        "recall_by_kind": {kind: recall(group) for kind, group in labels.groupby("kind")},
        "recall_by_kind_and_bucket": {
            f"{kind} {bucket}": recall(group) for (kind, bucket), group in labels.groupby(["kind", "magnitude_bucket"])
        },
        "recall_working_vs_quiet_day": {
            ("quiet day" if quiet else "working day"): recall(group) for quiet, group in labels.groupby("quiet_day")
        },
        "precision": _proportion(matched, detections),
        "false_alarms_on_anomaly_data_per_org_month": (
            sum(outcome.false_alarms for outcome in labelled) / sum(outcome.org_months for outcome in labelled)
            if labelled
            else None
        ),
        "unmatched_alerts": _unmatched(labelled),
        # the counting used until 2026-11-30: every grain's, level's and session's detection of an event counted
        "precision_per_detection": (
            _proportion(
                sum(outcome.per_detection[1] for outcome in labelled),
                sum(outcome.per_detection[0] for outcome in labelled),
            )
            if labelled and all(outcome.per_detection for outcome in labelled)
            else None
        ),
        "clean": {
            "unmatched_alerts": _unmatched(clean),
            "false_alarms": int(alarms.sum()),
            "org_months": float(months.sum()),
            "per_org_month": rate,
            "ci95": list(_rate_interval(alarms, months)),
            "per_seed": [int(value) for value in alarms],
        },
    }
    summary["targets"] = _targets(summary)
    return summary


def _unmatched(outcomes: list[SeedOutcome]) -> dict:
    """Alerts matching no label, by the detector that raised them and kind; and how many had a label of the same
    org within a day (another kind, or the event's spill)."""
    rows = pd.DataFrame([row for outcome in outcomes for row in outcome.unmatched])
    if rows.empty:
        return {"by_source": {}, "by_kind": {}, "near_a_label": 0}
    return {
        "by_source": rows["source"].value_counts().to_dict(),
        "by_kind": rows["kind"].value_counts().to_dict(),
        "near_a_label": int((rows["near_label"] != "").sum()),
    }


def summarise_noise_floor(rows: list[dict], found: list[dict], budgets: tuple[float, ...] = (0.1, 1.0)) -> dict:
    """Per magnitude bucket and kind: labels, found, and how many lie beyond each false-alarm budget (ordinary
    windows of their own series reaching their value per org-month); `found` are the labels in the same order."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return {}
    frame["found"] = [bool(label["found"]) for label in found]
    frame["observable"] = [bool(label["observable"]) for label in found]
    frame = frame[frame["observable"]]
    summary = {}
    for (bucket, kind), group in frame.groupby(["magnitude_bucket", "kind"]):
        cell = {"labels": len(group), "found": int(group["found"].sum())}
        for budget in budgets:
            beyond = group["ordinary_per_org_month"] > budget
            cell[f"beyond_{budget:g}"] = int(beyond.sum())
            cell[f"found_beyond_{budget:g}"] = int((beyond & group["found"]).sum())
        summary[f"{bucket} {kind}"] = cell
    return summary


def reachable_within(rows: list[dict], found: list[dict], bucket: str, budget: float) -> dict:
    """An upper bound from the noise floor: the most observable labels of `bucket` that thresholds on their own series
    (one threshold per kind, each knowing which series to watch) could catch while raising at most `budget` false
    alarms per org-month in all. Catching a kind's j easiest labels costs the j-th smallest `ordinary_per_org_month`
    among them; the budget's split among the kinds is the best one. `found` are the labels in the same order."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return {"labels": 0, "reachable": 0, "budget": budget}
    frame["observable"] = [bool(label["observable"]) for label in found]
    frame = frame[frame["observable"] & (frame["magnitude_bucket"] == bucket)]
    # (cost, labels caught) of the best split among the kinds seen so far, kept as a Pareto front
    front = [(0.0, 0)]
    for _, group in frame.groupby("kind"):
        costs = sorted(group["ordinary_per_org_month"].fillna(np.inf))
        options = [(0.0, 0)] + [(cost, index + 1) for index, cost in enumerate(costs) if cost <= budget]
        merged = sorted({(a + b, m + n) for a, m in front for b, n in options if a + b <= budget})
        front = [point for point in merged if not any(o[0] <= point[0] and o[1] > point[1] for o in merged)]
    return {"labels": len(frame), "reachable": max(count for _, count in front), "budget": budget}


def _targets(summary: dict) -> dict:
    observed = {
        "recall_at_3x_or_more": summary["recall_at_3x_or_more"]["value"],
        "recall_1.5-2x": summary["recall_by_bucket"]["1.5-2x"]["value"],
        "precision": summary["precision"]["value"],
        "false_alarms_per_org_month": summary["clean"]["per_org_month"],
    }
    verdict = {}
    for name, bar in TARGETS.items():
        value = observed[name]
        met = value is not None and (value <= bar if name == "false_alarms_per_org_month" else value >= bar)
        verdict[name] = {"target": bar, "observed": value, "met": bool(met)}
    return verdict


def failed_targets(summary: dict) -> list[str]:
    return [name for name, verdict in summary["targets"].items() if not verdict["met"]]


def build_datasets(
    seeds: Iterable[int], clean_seeds: Iterable[int], work: Path, progress: Callable[[str], None] | None = None
) -> list[Dataset]:
    datasets = []
    for seed, with_anomalies in [(seed, True) for seed in seeds] + [(seed, False) for seed in clean_seeds]:
        if progress:
            progress(f"seed {seed} {'with anomalies' if with_anomalies else 'clean'}")
        datasets.append(build_dataset(seed, work, with_anomalies=with_anomalies))
    return datasets


def measure(datasets: Iterable[Dataset], detector: Detector = production_detector) -> tuple[dict, list[SeedOutcome]]:
    outcomes = [score_dataset(dataset, detector) for dataset in datasets]
    return summarise(outcomes), outcomes


# --- the noise floor: how many ordinary windows look at least as unusual as each labelled anomaly (reporting only) ---
NOISE_FLOOR_SQL = {
    # one row per window of the series the label's kind changes: (series, window start, value)
    "usage_surge": """
        select coalesce(user_id, '(unknown)') as series, cast(day as timestamp) as period,
               count(distinct session_id)::double as value
        from marts.fct_llm_calls where org_id = ? and session_id is not null group by all""",
    "error_burst": """
        select coalesce(user_id, '(unknown)') as series, hour as period,
               count(*) filter (where is_error)::double as value
        from marts.fct_llm_calls where org_id = ? group by all""",
    "runaway_agent": """
        select coalesce(any_value(user_id), '(unknown)') as series, min(ts_utc) as period, count(*)::double as value
        from marts.fct_llm_calls where org_id = ? and session_id is not null and source_system = 'claude_code'
        group by session_id""",
    "cost_spike": """
        select coalesce(any_value(user_id), '(unknown)') as series, min(ts_utc) as period,
               sum(coalesce(cost_usd, 0)) as value, sum(coalesce(cost_usd, 0)) / count(*) as per_call
        from marts.fct_llm_calls where org_id = ? and session_id is not null and source_system = 'claude_code'
        group by session_id""",
    "latency_degradation": """
        with days as (
            select model || '|' || source_system as series, cast(day as timestamp) as period,
                   sum(ln(latency_ms)) as total, count(*) as calls
            from marts.fct_llm_calls where org_id = ? and latency_ms > 0 group by all
        )
        select day.series, day.period, (day.total + coalesce(next.total, 0)) / (day.calls + coalesce(next.calls, 0))
               as value
        from days as day left join days as next
          on next.series = day.series and next.period = day.period + interval 1 day""",
}


def _windows(dataset: Dataset, kind: str, org: str, cache: dict) -> pd.DataFrame:
    key = (dataset.marts, kind, org)
    if key not in cache:
        connection = detector_input(dataset)
        with connection:
            windows = connection.execute(NOISE_FLOOR_SQL[kind], [org]).df()
        windows["period"] = pd.to_datetime(windows["period"])
        cache[key] = windows
    return cache[key]


def noise_floor(dataset: Dataset, clean: list[Dataset], span_days: int = 28, cache: dict | None = None) -> list[dict]:
    """For each label of `dataset`: the value its window reached in the series its kind changes (a usage surge: its
    user's sessions that day; an error burst: its user's failed calls in the hour; a runaway agent or cost spike:
    its user's largest session in the window, in calls, or in cost or cost per call, against the org's sessions; a
    latency degradation: its model's mean log-latency over the two days), and how often the same series reaches that
    value without any anomaly: on the anomaly-free datasets `clean` (the same world, other draws), within
    `span_days` of the label's date (the usage grows over the period) and, for a user's days, on the same day type.
    `p` is that share of ordinary windows; `ordinary_per_org_month` = p x the org's windows at that level per month:
    the false alarms a threshold on that very series (knowing which user, model or session to watch) would raise to
    catch this anomaly. A label above a budget cannot be found within it by thresholding its own series.
    Reads the labels: for the report only, after scoring."""
    cache = {} if cache is None else cache
    if not json.loads(dataset.labels.read_text()) or not clean:
        return []
    labels = load_labels(dataset.labels)
    rows = []
    for label in labels.itertuples():
        start, end = (label.start.floor("D"), label.end) if label.kind == "usage_surge" else (label.start, label.end)
        windows = _windows(dataset, label.kind, label.org_id, cache)
        if label.kind == "latency_degradation":
            own = windows[windows["series"].str.startswith(f"{label.model}|") & (windows["period"] == start)]
        else:
            own = windows[
                (windows["series"] == label.user_id) & (windows["period"] >= start) & (windows["period"] <= end)
            ]
        top = own.sort_values("value").tail(1)
        value = float(top["value"].iloc[0]) if len(top) else float("nan")
        per_call = float(top["per_call"].iloc[0]) if "per_call" in top and len(top) else float("nan")
        ordinary = pd.concat([_windows(other, label.kind, label.org_id, cache) for other in clean], ignore_index=True)
        near = ordinary[(ordinary["period"] - start).abs() <= pd.Timedelta(days=span_days)]
        per_month = len(near) / (len(clean) * (2 * span_days + 1) / DAYS_PER_MONTH)  # windows of that level
        if label.kind in ("usage_surge", "error_burst"):
            quiet = near["period"].dt.weekday >= 5
            series = near[(near["series"] == label.user_id) & (quiet == (start.weekday() >= 5))]
            if label.kind == "usage_surge":  # the org's user-days, not its sessions
                per_month = near["series"].nunique() * DAYS_PER_MONTH
        elif label.kind == "latency_degradation":
            series = near[near["series"].str.startswith(f"{label.model}|")]
            per_month = near["series"].nunique() * DAYS_PER_MONTH
        else:
            series = near
        p = float((series["value"] >= value).mean()) if len(series) and value == value else float("nan")
        if per_call == per_call and len(series):
            p = min(p, float((series["per_call"] >= per_call).mean()))
        rows.append(
            {
                "seed": dataset.seed,
                "kind": label.kind,
                "magnitude_bucket": label.magnitude_bucket,
                "value": value,
                "ordinary_windows": len(series),
                "p": p,
                "ordinary_per_org_month": p * per_month if p == p else float("nan"),
            }
        )
    return rows
