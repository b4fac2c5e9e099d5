"""aioa against ccusage on a `~/.claude` tree shaped like real use, side by side in one run (A B A B ...).

A: cold `aioa ingest claude-code <tree>` + `aioa report daily --json` in a fresh AIOA_HOME (whole processes).
B: `ccusage daily --json --offline -z UTC` (20.0.24, from npm) with CLAUDE_CONFIG_DIR=<tree>; installed once under
   data/bench/ before timing, so the download is not timed (the same package `npx ccusage@20.0.24` runs). Skipped
   with a message where npm is missing or the package cannot be fetched.
Then, on the last warm home: a grown tree (one new session file) re-ingested, an unchanged tree re-ingested,
`aioa report daily --json` and `aioa --help`. The daily token totals of both tools are compared day by day and
model by model (they must agree exactly).

Wall, CPU (user + system) and peak RSS of each child come from /usr/bin/time when present (else getrusage).
The tree is generated once by benchmarks/claude_tree.py and reused from data/bench/ (ignored by git).
Prints a table and writes benchmarks/results/real_tree.json (and real_tree-<MB>mb.json). Not a test: `make bench-tree`.

    uv run python benchmarks/real_tree_benchmark.py [--total-gb 1] [--runs 3] [--tree PATH] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from statistics import median

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from claude_tree import GENERATOR_VERSION, TreeSpec, add_session, tree_shape, write_claude_tree  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BENCH_DATA = ROOT / "data" / "bench"
CCUSAGE_VERSION = "20.0.24"
TOKEN_KEYS = {
    "input_tokens": "inputTokens",
    "output_tokens": "outputTokens",
    "cache_creation_tokens": "cacheCreationTokens",
    "cache_read_tokens": "cacheReadTokens",
}
TIME_LIMIT_S = 1800  # per command: a cold ingest that falls back to one file at a time can take hours
TARGETS = {"cold_ratio": 1.0, "peak_rss_mb_1gb_tree": 1000, "grown_s": 1.0, "warm_report_s": 0.35, "help_s": 0.3}
console = Console(width=max(shutil.get_terminal_size().columns, 130))


def ensure_tree(spec: TreeSpec) -> tuple[Path, dict]:
    """The generated tree for `spec`, reused while its recorded spec and generator version match."""
    folder = BENCH_DATA / f"claude-tree-{spec.total_bytes // 1_000_000}mb-seed{spec.seed}"
    shape = tree_shape(folder)
    if not shape or shape.get("generator_version") != GENERATOR_VERSION or shape.get("spec") != asdict(spec):
        shutil.rmtree(folder, ignore_errors=True)
        console.print(f"generating {spec.total_bytes / 1e6:,.0f} MB tree under {folder} …")
        shape = write_claude_tree(folder, spec)
    return folder, shape


def ensure_ccusage() -> tuple[list[str] | None, str]:
    """ccusage's bin, installed once with npm (outside the timing); None and the reason when it cannot be."""
    prefix = BENCH_DATA / f"ccusage-{CCUSAGE_VERSION}"
    binary = prefix / "node_modules" / ".bin" / "ccusage"
    if not binary.exists():
        if not shutil.which("npm") or not shutil.which("node"):
            return None, "npm/node not found: ccusage side skipped"
        done = subprocess.run(
            ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", f"ccusage@{CCUSAGE_VERSION}"],
            capture_output=True,
            text=True,
        )
        if done.returncode or not binary.exists():
            return None, f"npm could not install ccusage@{CCUSAGE_VERSION}: {done.stderr.strip()[-300:]}"
    return [str(binary)], f"ccusage {CCUSAGE_VERSION} ({binary.relative_to(ROOT)})"


def aioa_command() -> list[str]:
    script = Path(sys.executable).with_name("aioa")  # the console script a user runs
    return [str(script)] if script.exists() else [sys.executable, "-m", "aioa.cli"]


def timed(args: list[str], env: dict, *, stdout: bool = True) -> dict:
    """Run one child: wall, CPU and peak RSS (of the child and the children it waited for) and its stdout."""
    handle, usage_file = tempfile.mkstemp(prefix="aioa-time-", suffix=".txt")
    os.close(handle)
    wrapper = ["/usr/bin/time", "-f", "%U %S %M", "-o", usage_file] if Path("/usr/bin/time").exists() else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # Its own process group, so that a run past the time limit is stopped with everything it started; the same
    # session (not start_new_session), so the children share the benchmark's scheduling group (autogroup) and its
    # priority on a shared machine.
    child = subprocess.Popen(
        wrapper + args,
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,
    )
    try:
        output, errors = child.communicate(timeout=TIME_LIMIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGTERM)
        child.communicate()
        raise SystemExit(
            f"{' '.join(args)} took more than {TIME_LIMIT_S} s: stopped (see the README's notes on "
            "batches that exceed the DuckDB memory limit)"
        ) from None
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if child.returncode:
        raise SystemExit(f"{' '.join(args)} failed ({child.returncode}):\n{errors[-2000:]}")
    if wrapper:
        user, system, peak_kb = Path(usage_file).read_text().split()[-3:]
        cpu, peak_mb = float(user) + float(system), int(peak_kb) / 1024
    else:  # ru_maxrss of children is a running maximum: only a new maximum is this child's
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        peak_mb = after.ru_maxrss / 1024 if after.ru_maxrss > before.ru_maxrss else float("nan")
    os.unlink(usage_file)
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak_mb, "stdout": output if stdout else ""}


def aioa_env(home: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIOA_", "CLAUDE_CONFIG_DIR"))}
    # Children use a bytecode cache, as any install does (this machine sets PYTHONDONTWRITEBYTECODE, which would
    # make every start-up compile the package's modules again while other sessions edit them).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return {**env, "AIOA_HOME": str(home), "PYTHONPYCACHEPREFIX": str(RESULTS / ".pycache")}


def run_aioa_cold(tree: Path, home: Path) -> dict:
    env = aioa_env(home)
    ingest = timed([*aioa_command(), "ingest", "claude-code", str(tree), "--json"], env)
    report = timed([*aioa_command(), "report", "daily", "--json"], env)
    return {
        "wall_s": ingest["wall_s"] + report["wall_s"],
        "cpu_s": ingest["cpu_s"] + report["cpu_s"],
        "peak_rss_mb": max(ingest["peak_rss_mb"], report["peak_rss_mb"]),
        "ingest_wall_s": ingest["wall_s"],
        "report_wall_s": report["wall_s"],
        "summary": json.loads(ingest["stdout"]),
        "daily": json.loads(report["stdout"]),
    }


def run_ccusage(binary: list[str], tree: Path, scratch: Path) -> dict:
    # HOME points at an empty folder: ccusage 20 also reads other agents' logs (Codex …) from the home folder.
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(tree), "HOME": str(scratch), "TZ": "UTC", "NO_COLOR": "1"}
    result = timed([*binary, "daily", "--json", "--offline", "-z", "UTC"], env)
    result["daily"] = json.loads(result.pop("stdout"))
    return result


def compare_daily(ours: list[dict], theirs: dict) -> dict:
    """Token totals per day and per (day, model): the differences (aioa minus ccusage), empty when they agree."""
    mine = {row["date"]: row for row in ours}
    other = {day["period"]: day for day in theirs.get("daily", [])}
    differences: list[dict] = []
    for day in sorted(set(mine) | set(other)):
        a, b = mine.get(day, {}), other.get(day, {})
        delta = {key: a.get(key, 0) - b.get(theirs_key, 0) for key, theirs_key in TOKEN_KEYS.items()}
        if any(delta.values()):
            differences.append({"date": day, "scope": "day", **delta})
        models_a = {row["model"]: row for row in a.get("models", [])}
        models_b = {row["modelName"]: row for row in b.get("modelBreakdowns", [])}
        for model in sorted(set(models_a) | set(models_b)):
            delta = {
                key: models_a.get(model, {}).get(key, 0) - models_b.get(model, {}).get(theirs_key, 0)
                for key, theirs_key in TOKEN_KEYS.items()
            }
            if any(delta.values()):
                differences.append({"date": day, "scope": model, **delta})
    total_a = {key: sum(row[key] for row in ours) for key in TOKEN_KEYS}
    total_b = {key: sum(day[theirs_key] for day in theirs.get("daily", [])) for key, theirs_key in TOKEN_KEYS.items()}
    return {
        "days_aioa": len(mine),
        "days_ccusage": len(other),
        "agree": not differences,
        "totals_aioa": total_a,
        "totals_ccusage": total_b,
        "differences": differences[:50],
        "cost_usd_aioa": round(sum(row["cost_usd"] or 0 for row in ours), 4),
        "cost_usd_ccusage": round(sum(day.get("totalCost", 0) for day in theirs.get("daily", [])), 4),
    }


def profile_cold_ingest(tree: Path, scratch: Path) -> dict:
    """One cold ingest under cProfile (top functions) and `-X importtime` of `report daily` and `--help`."""
    import pstats

    home = scratch / "profile-home"
    env = aioa_env(home)
    profile = RESULTS / "real_tree_ingest.prof"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(profile),
            "-m",
            "aioa.cli",
            "ingest",
            "claude-code",
            str(tree),
            "--json",
        ],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stats = pstats.Stats(str(profile))
    rows = []
    for (file, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        rows.append(
            {
                "function": f"{Path(file).name}:{line}({name})"
                if "/aioa/" not in file
                else f"{file.split('/aioa/')[-1]}:{line}({name})",
                "calls": calls,
                "own_s": round(own, 3),
                "cumulative_s": round(cumulative, 3),
            }
        )
    imports = {}
    for label, args in (("report daily", ["report", "daily", "--json"]), ("--help", ["--help"])):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "aioa.cli", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        entries = []
        for line in done.stderr.splitlines():
            if line.startswith("import time:") and "|" in line and "cumulative" not in line:
                _, cumulative, module = line[len("import time:") :].split("|")
                if not module.startswith("  "):  # top-level imports only (nested ones are inside them)
                    entries.append((int(cumulative) / 1e6, module.strip()))
        imports[label] = [
            {"module": module, "cumulative_s": round(seconds, 3)}
            for seconds, module in sorted(entries, reverse=True)[:12]
        ]
    ours = [row for row in rows if not row["function"].startswith(("<", "~", "cli.py", "main.py", "core.py"))]
    return {
        "by_cumulative": sorted(ours, key=lambda row: -row["cumulative_s"])[:25],
        "by_own_time": sorted(rows, key=lambda row: -row["own_s"])[:15],
        "imports": imports,
        "profile_file": str(profile.relative_to(ROOT)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--total-mb", type=float, default=140, help="Size of the generated tree (default 140 MB).")
    size.add_argument("--total-gb", type=float, help="Size of the generated tree in GB (e.g. 1).")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="A B pairs (cold runs of each side).")
    parser.add_argument(
        "--repeat", type=int, default=5, help="Runs of the short commands (warm report, --help, re-ingests)."
    )
    parser.add_argument(
        "--tree",
        type=Path,
        help="An existing Claude config dir to use instead (read only, "
        "except that the grown-tree step adds and removes one file).",
    )
    parser.add_argument("--skip-ccusage", action="store_true")
    parser.add_argument("--profile", action="store_true", help="Also profile one cold ingest (cProfile, importtime).")
    args = parser.parse_args()

    total = int(args.total_gb * 1e9) if args.total_gb else int(args.total_mb * 1e6)
    spec = TreeSpec(total_bytes=total, seed=args.seed)
    if args.tree:
        tree, shape = args.tree, tree_shape(args.tree) or _measure_shape(args.tree)
    else:
        tree, shape = ensure_tree(spec)
    console.print(
        f"tree: {tree} — {shape['files']:,} files ({shape.get('subagent_files', '?')} subagent), "
        f"{shape['bytes'] / 1e6:,.1f} MB, {shape['lines']:,} lines"
    )
    ccusage, ccusage_note = (None, "skipped (--skip-ccusage)") if args.skip_ccusage else ensure_ccusage()
    console.print(ccusage_note)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aioa-real-tree-") as scratch_name:
        scratch = Path(scratch_name)
        (scratch / "home").mkdir()
        # Compile the package once into the bytecode cache (not timed).
        subprocess.run(
            [*aioa_command(), "--help"],
            env=aioa_env(scratch / "warmup"),
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        cold_a, cold_b = [], []
        for run in range(args.runs):
            home = scratch / f"aioa-home-{run}"
            if run:
                shutil.rmtree(scratch / f"aioa-home-{run - 1}", ignore_errors=True)
            cold_a.append(run_aioa_cold(tree, home))
            console.print(
                f"A{run + 1}: aioa cold ingest + report {cold_a[-1]['wall_s']:.2f} s "
                f"({cold_a[-1]['cpu_s']:.1f} CPU-s, {cold_a[-1]['peak_rss_mb']:.0f} MB)"
            )
            if ccusage:
                cold_b.append(run_ccusage(ccusage, tree, scratch / "home"))
                console.print(
                    f"B{run + 1}: ccusage daily {cold_b[-1]['wall_s']:.2f} s "
                    f"({cold_b[-1]['cpu_s']:.1f} CPU-s, {cold_b[-1]['peak_rss_mb']:.0f} MB)"
                )
        env = aioa_env(home)
        warm_reports = [
            timed([*aioa_command(), "report", "daily", "--json"], env, stdout=False) for _ in range(args.repeat)
        ]
        helps = [timed([*aioa_command(), "--help"], env, stdout=False) for _ in range(args.repeat)]
        unchanged = [
            timed([*aioa_command(), "ingest", "claude-code", str(tree), "--json"], env) for _ in range(args.repeat)
        ]
        grown = []
        for index in range(args.repeat):  # one new session each time, removed afterwards (the tree stays as it was)
            new_file = add_session(tree, seed=args.seed + index)
            try:
                grown.append(timed([*aioa_command(), "ingest", "claude-code", str(tree), "--json"], env))
                grown[-1]["summary"] = json.loads(grown[-1].pop("stdout"))
            finally:
                new_file.unlink()
        comparison = compare_daily(cold_a[-1]["daily"], cold_b[-1]["daily"]) if cold_b else None
        profile = profile_cold_ingest(tree, scratch) if args.profile else None

    result = _summarise(
        args, tree, shape, ccusage_note, cold_a, cold_b, warm_reports, helps, unchanged, grown, comparison, profile
    )
    # The latest run, and one file per tree size (so the 1 GB run does not replace the 140 MB one).
    for name in ("real_tree.json", f"real_tree-{shape['bytes'] // 1_000_000}mb.json"):
        (RESULTS / name).write_text(json.dumps(result, indent=2))
    _print(result)


def _measure_shape(tree: Path) -> dict:
    files = list(tree.rglob("*.jsonl"))
    lines = 0
    for file in files:
        with file.open("rb") as handle:
            lines += sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return {
        "files": len(files),
        "bytes": sum(file.stat().st_size for file in files),
        "lines": lines,
        "subagent_files": sum("/subagents/" in str(file) for file in files),
    }


def _median(runs: list[dict], key: str) -> float | None:
    return round(median(run[key] for run in runs), 3) if runs else None


def _summarise(
    args, tree, shape, ccusage_note, cold_a, cold_b, warm_reports, helps, unchanged, grown, comparison, profile
) -> dict:
    a = {key: _median(cold_a, key) for key in ("wall_s", "cpu_s", "peak_rss_mb", "ingest_wall_s", "report_wall_s")}
    b = {key: _median(cold_b, key) for key in ("wall_s", "cpu_s", "peak_rss_mb")} if cold_b else None
    ratio = round(a["wall_s"] / b["wall_s"], 2) if b else None
    load = os.getloadavg()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpus": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in load],
        "tree": str(tree),
        "shape": shape,
        "ccusage": ccusage_note,
        "cold": {
            "aioa": a,
            "ccusage": b,
            "ratio_wall": ratio,
            "ratio_cpu": round(a["cpu_s"] / b["cpu_s"], 2) if b else None,
            "llm_calls": cold_a[-1]["summary"]["rows_added"].get("llm_calls"),
            "aioa_runs": [{k: round(v, 3) for k, v in run.items() if isinstance(v, float)} for run in cold_a],
            "ccusage_runs": [{k: round(v, 3) for k, v in run.items() if isinstance(v, float)} for run in cold_b],
        },
        "warm_report_s": _median(warm_reports, "wall_s"),
        "help_s": _median(helps, "wall_s"),
        "unchanged_reingest_s": _median(unchanged, "wall_s"),
        "grown_reingest_s": _median(grown, "wall_s"),
        "cpu_s": {
            "warm_report": _median(warm_reports, "cpu_s"),
            "help": _median(helps, "cpu_s"),
            "unchanged_reingest": _median(unchanged, "cpu_s"),
            "grown_reingest": _median(grown, "cpu_s"),
        },
        "grown_summary": grown[-1]["summary"] if grown else None,
        "targets": TARGETS,
        "comparison": comparison,
        "profile": profile,
    }


def _print(result: dict) -> None:
    cold, a, b = result["cold"], result["cold"]["aioa"], result["cold"]["ccusage"]
    shape = result["shape"]
    table = Table(
        title=f"aioa vs ccusage on a real-shaped tree: {shape['files']:,} files, "
        f"{shape['bytes'] / 1e6:,.0f} MB, {shape['lines']:,} lines (median of {len(cold['aioa_runs'])})"
    )
    for column in ("measure", "aioa", "ccusage", "aioa / ccusage", "target", "met"):
        table.add_column(column, justify="left" if column == "measure" else "right")

    def verdict(ok: bool | None) -> str:
        return "-" if ok is None else "[green]yes[/]" if ok else "[red]no[/]"

    big_tree = shape["bytes"] >= 0.9e9
    cpu = result["cpu_s"]
    rows = [
        (
            "cold ingest + report daily, wall",
            f"{a['wall_s']:.2f} s",
            b and f"{b['wall_s']:.2f} s",
            cold["ratio_wall"],
            "≤ 1.0×",
            cold["ratio_wall"] is not None and cold["ratio_wall"] <= TARGETS["cold_ratio"] if b else None,
        ),
        ("cold, CPU (user + system)", f"{a['cpu_s']:.1f} s", b and f"{b['cpu_s']:.1f} s", cold["ratio_cpu"], "", None),
        (
            "cold, peak RSS",
            f"{a['peak_rss_mb']:.0f} MB",
            b and f"{b['peak_rss_mb']:.0f} MB",
            b and round(a["peak_rss_mb"] / b["peak_rss_mb"], 1),
            "≤ 1 GB (1 GB tree)",
            a["peak_rss_mb"] <= TARGETS["peak_rss_mb_1gb_tree"] if big_tree else None,
        ),
        (
            "  of which ingest / first report",
            f"{a['ingest_wall_s']:.2f} / {a['report_wall_s']:.2f} s",
            "",
            "",
            "",
            None,
        ),
        (
            "grown tree (+1 session), re-ingest",
            f"{result['grown_reingest_s']:.2f} s ({cpu['grown_reingest']:.2f} CPU)",
            "",
            "",
            "< 1 s",
            result["grown_reingest_s"] < TARGETS["grown_s"],
        ),
        (
            "unchanged tree, re-ingest",
            f"{result['unchanged_reingest_s']:.2f} s ({cpu['unchanged_reingest']:.2f} CPU)",
            "",
            "",
            "",
            None,
        ),
        (
            "warm `aioa report daily --json`",
            f"{result['warm_report_s']:.2f} s ({cpu['warm_report']:.2f} CPU)",
            "",
            "",
            "≤ 0.35 s",
            result["warm_report_s"] <= TARGETS["warm_report_s"],
        ),
        (
            "`aioa --help`",
            f"{result['help_s']:.2f} s ({cpu['help']:.2f} CPU)",
            "",
            "",
            "≤ 0.3 s",
            result["help_s"] <= TARGETS["help_s"],
        ),
    ]
    for name, ours, theirs, ratio, target, ok in rows:
        table.add_row(name, ours, theirs or "", "" if ratio in (None, "") else f"{ratio}×", target, verdict(ok))
    console.print(table)
    console.print(
        f"load average at the end: {result['load_average_at_end']} on {result['cpus']} cores "
        "(wall > CPU means the cores were shared)"
    )
    comparison = result["comparison"]
    if comparison is None:
        console.print(f"token totals not compared: {result['ccusage']}")
    elif comparison["agree"]:
        console.print(
            f"[green]token totals agree exactly[/] with ccusage on {comparison['days_aioa']} days, per day "
            f"and per model (input, output, cache create, cache read); cost aioa "
            f"${comparison['cost_usd_aioa']:,.2f} vs ccusage ${comparison['cost_usd_ccusage']:,.2f}"
        )
    else:
        console.print(
            f"[red]token totals differ[/] (aioa minus ccusage), days {comparison['days_aioa']} vs "
            f"{comparison['days_ccusage']}; totals aioa {comparison['totals_aioa']} vs ccusage "
            f"{comparison['totals_ccusage']}"
        )
        for difference in comparison["differences"][:15]:
            console.print(f"  {difference}")
    if result["profile"]:
        profile = result["profile"]
        console.print(f"cold ingest profile ({profile['profile_file']}):")
        for title, rows in (
            ("top by cumulative time", profile["by_cumulative"][:15]),
            ("top by own time", profile["by_own_time"][:8]),
        ):
            console.print(f" {title}:")
            for row in rows:
                console.print(
                    f"  {row['cumulative_s']:7.2f} s  {row['own_s']:7.2f} s own  {row['calls']:>8}×  {row['function']}"
                )
        for label, entries in profile["imports"].items():
            console.print(
                f"imports of `aioa {label}`: "
                + ", ".join(f"{entry['module']} {entry['cumulative_s']:.2f} s" for entry in entries[:8])
            )


if __name__ == "__main__":
    main()
