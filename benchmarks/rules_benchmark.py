"""Rule evaluation speed: N rules (a mix of every data-reading trigger kind, metrics and groupings) of one org
evaluated against the home's current snapshot, as `aioa rules run` does; a second pass shows the steady state
(findings already seen). The rules live in a throwaway identity store; the home is only read.

    uv run python benchmarks/rules_benchmark.py --home data --rules 1000 [--org acme]

Target (issue 18): 1,000 rules over one snapshot of the 10M-call sample in < 10 s on 2 cores."""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from aioa.settings import PROJECT_ROOT, Settings

METRICS = ("spend", "calls", "tokens", "error_rate", "cache_hit_rate", "error_calls")
GROUPS = ([], ["org"], ["project"], ["model"], ["team"], ["user"])


def rule_documents(count: int) -> list[dict]:
    shapes = itertools.cycle(
        [
            *(
                {"kind": "metric_threshold", "metric": metric, "group_by": group}
                for metric, group in itertools.product(METRICS, GROUPS)
            ),
            {"kind": "anomaly_detected"},
            {"kind": "budget_forecast", "min_probability": 0.5},
            {"kind": "sla_breach", "metric": "latency_p95_ms", "above": 20000, "group_by": ["model"]},
            {"kind": "sla_breach", "metric": "error_rate", "above": 0.05, "group_by": ["model"]},
        ]
    )
    conditions = {"metric_threshold": "ratio >= 3.0", "anomaly_detected": "ratio >= 3.0"}
    return [
        {
            "name": f"bench-{index:05d}",
            "trigger": trigger,
            "condition": conditions.get(trigger["kind"], "true"),
            "actions": [{"type": "set_router_threshold", "threshold": 0.5}],
        }
        for index, trigger in zip(range(count), shapes, strict=False)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=PROJECT_ROOT / "data")
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--org", default=None, help="Default: the first org of the snapshot.")
    args = parser.parse_args()

    from aioa.rules.engine import evaluate_all
    from aioa.rules.spec import parse_rule
    from aioa.rules.store import save_rule

    with tempfile.TemporaryDirectory() as work:
        settings = Settings(home=args.home, database_url=f"sqlite:///{work}/identity.db")
        org = args.org or _first_org(settings)
        documents = rule_documents(args.rules)
        started = time.perf_counter()
        for document in documents:
            save_rule(settings, org, parse_rule(document))
        saved = time.perf_counter() - started
        passes = []
        for label in ("first pass", "second pass"):
            started = time.perf_counter()
            results = evaluate_all(settings, org, source="benchmark")
            seconds = time.perf_counter() - started
            passes.append(
                {
                    "pass": label,
                    "rules": len(results),
                    "seconds": round(seconds, 2),
                    "ms_per_rule": round(1000 * seconds / max(len(results), 1), 2),
                    "fired": sum(result.fired for result in results),
                    "errors": sum(bool(result.error) for result in results),
                }
            )
    kinds = Counter(document["trigger"]["kind"] for document in documents)
    table = Table(title=f"{args.rules} rules of org {org} ({dict(kinds)}), saved in {saved:.1f} s")
    for column in passes[0]:
        table.add_column(column)
    for row in passes:
        table.add_row(*(str(value) for value in row.values()))
    Console().print(table)
    out = PROJECT_ROOT / "benchmarks" / "results" / "rules.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"home": str(args.home), "org": org, "save_seconds": saved, "passes": passes}, indent=2))


def _first_org(settings: Settings) -> str:
    from aioa.warehouse.snapshots import open_snapshot

    connection, _ = open_snapshot(settings)
    with connection:
        return connection.execute("select min(org_id) from marts.agg_usage_daily").fetchone()[0]


if __name__ == "__main__":
    main()
