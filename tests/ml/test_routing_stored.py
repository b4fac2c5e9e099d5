"""The files the router serves from (`ml/routing/stored.py`): the champion's serving copy is written atomically by one
function (promotion and `champion()` after an MLflow load) that never replaces a newer version, nor, after a mere
load, another registry's copy; a file replaced within the same clock tick is still noticed (the cache is keyed by
mtime, size and inode); and `route(task)` without settings follows a changed AIOA_HOME. Real files and processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from ml.routing import performance, stored
from ml.routing.predict import Champion, local_champion, local_champion_path, reload, save_local_champion

from aioa.atomic_files import write_atomically
from aioa.settings import Settings

META = {"cheap_model": "cheap-model", "strong_model": "strong-model", "threshold": 0.0}
META |= {"cheap_cost_usd": 0.01, "strong_cost_usd": 0.1, "cheap_latency_ms": 900.0, "strong_latency_ms": 1800.0}

ROOT = Path(performance.__file__).resolve().parents[2]  # where `ml` is imported from: the writers use the same code
# A writer process: waits for the go file, then writes the serving copy once per version given, in that order.
WRITER = """
import sys, time
from pathlib import Path
from aioa.settings import Settings
from ml.routing import performance
from ml.routing.predict import Champion, save_local_champion
home, uri, go, versions = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4:]
settings = Settings(home=home, mlflow_tracking_uri=uri)
print("ready", flush=True)
while not go.exists():
    time.sleep(0.01)
for version in versions:
    if version.startswith("predictor:"):
        performance.save(performance.PerformancePredictor([], [], None, {}, {}, {"tag": version}), home)
    else:
        save_local_champion(settings, Champion({"weights": version * 1000}, {"threshold": 0.0}, version))
"""


def _writers(home: Path, uri: str, batches: list[list[str]]) -> None:
    """Run one writer process per batch of versions, all released at once; fail if any fails."""
    home.mkdir(parents=True, exist_ok=True)
    go = home / f"go-{time.monotonic_ns()}"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(home), uri, str(go), *batch],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for batch in batches
    ]
    try:
        for process in processes:
            assert process.stdout.readline().strip() == "ready", process.stderr.read()
        go.touch()
        for process in processes:
            assert process.wait(timeout=120) == 0, process.stderr.read()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def _copy(home: Path) -> dict:
    import joblib

    return joblib.load(local_champion_path(Settings(home=home)))


@pytest.fixture(autouse=True)
def _fresh_caches():
    reload()
    yield
    reload()


def test_concurrent_writers_leave_the_newest_version(tmp_path):
    """Three processes write versions 60 down to 1 at once (each its own third, newest first, as a slow loader of an
    old champion would after a promotion): the copy ends as version 60, and every read meanwhile is a whole copy."""
    home, uri = tmp_path / "home", f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = Settings(home=home, mlflow_tracking_uri=uri)
    batches = [[str(version) for version in range(60, 0, -1) if version % 3 == index] for index in range(3)]
    _writers(home, uri, batches)
    copy = _copy(home)
    assert copy["champion"].version == "60" and copy["version"] == "60"
    assert copy["champion"].model == {"weights": "60" * 1000}
    assert local_champion(settings).version == "60"
    assert not list(local_champion_path(settings).parent.glob("*.partial"))  # no temporary file left behind


def test_a_slow_load_never_replaces_a_newer_promotion(tmp_path):
    """Another process promotes v5 while this one was loading v4 from MLflow: writing v4 afterwards (what
    `champion()` does after a load) leaves v5; a newer version replaces it; a promotion of an older version is refused
    too, and the same version is only rewritten by a promotion."""
    home, uri = tmp_path / "home", f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = Settings(home=home, mlflow_tracking_uri=uri)
    _writers(home, uri, [["5"]])
    path = local_champion_path(settings)
    before = path.stat().st_ino
    save_local_champion(settings, Champion({"weights": "old"}, META, "4"))
    assert local_champion(settings).version == "5"
    assert not save_local_champion(settings, Champion({"weights": "old"}, META, "4"), promotion=False)
    assert not save_local_champion(settings, Champion({"weights": "same"}, META, "5"), promotion=False)
    assert path.stat().st_ino == before and local_champion(settings).version == "5"
    assert save_local_champion(settings, Champion({"weights": "newer"}, META, "6", "run-6"), promotion=False)
    copy = _copy(home)
    assert (copy["version"], copy["run_id"], copy["champion"].model) == ("6", "run-6", {"weights": "newer"})


def _register(settings: Settings, model_name: str) -> str:
    """A tiny scikit-learn model registered in the settings' MLflow registry as `champion`, with routing meta."""
    import numpy as np
    from ml.routing.tracking import CHAMPION, configure
    from sklearn.linear_model import LogisticRegression

    configure(settings)
    import mlflow
    import mlflow.sklearn

    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    with mlflow.start_run() as run:
        mlflow.log_dict(META, "routing_meta.json")
        info = mlflow.sklearn.log_model(model, name="router", registered_model_name=model_name)
    mlflow.tracking.MlflowClient().set_registered_model_alias(model_name, CHAMPION, info.registered_model_version)
    return run.info.run_id


def test_a_process_of_another_registry_leaves_the_copy_alone(tmp_path):
    """The home's copy was promoted in registry B; a process on registry A loads its champion from MLflow and
    serves it, but does not rewrite B's copy (before, every call rewrote it and B's processes then rewrote it
    back). With no copy at all, the load writes one that names its version and run."""
    from ml.routing.predict import champion

    home = tmp_path / "home"
    registry_a = Settings(home=home, mlflow_tracking_uri=f"sqlite:///{tmp_path / 'a.db'}")
    registry_b = Settings(home=home, mlflow_tracking_uri=f"sqlite:///{tmp_path / 'b.db'}")
    run_id = _register(registry_a, registry_a.routing_model_name)
    save_local_champion(registry_b, Champion({"weights": "b"}, META, "9"))
    path = local_champion_path(registry_b)
    before = (path.stat().st_ino, path.read_bytes())
    served = [champion(registry_a) for _ in range(3)]
    assert (path.stat().st_ino, path.read_bytes()) == before and local_champion(registry_b).version == "9"
    assert all(one.version == "1" and one.run_id == run_id and one.meta == META for one in served)
    path.unlink()
    reload()
    assert champion(registry_a).version == "1"
    copy = _copy(home)
    assert (copy["tracking_uri"], copy["version"], copy["run_id"]) == (registry_a.mlflow_uri, "1", run_id)


def test_a_replacement_within_the_same_clock_tick_is_noticed(tmp_path):
    """Another process replaces the champion's copy and the performance predictor; their modification times are
    then those of the files they replaced (a coarse clock): both are still read anew, and `loaded()` says so."""
    from ml.routing.predict import loaded

    home, uri = tmp_path / "home", f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = Settings(home=home, mlflow_tracking_uri=uri)
    _writers(home, uri, [["1", "predictor:first"]])
    champion_path, predictor_path = local_champion_path(settings), performance.store_path(home)
    assert local_champion(settings).version == "1"
    assert performance.load(home).evaluation == {"tag": "predictor:first"}
    ticks = {path: path.stat().st_mtime_ns for path in (champion_path, predictor_path)}
    served = stored.file_version(champion_path), stored.file_version(predictor_path)
    _writers(home, uri, [["2", "predictor:later"]])
    for path, tick in ticks.items():
        os.utime(path, ns=(tick, tick))
    assert all(path.stat().st_mtime_ns == tick for path, tick in ticks.items())
    assert (stored.file_version(champion_path), stored.file_version(predictor_path)) != served
    assert local_champion(settings).version == "2"
    assert performance.load(home).evaluation == {"tag": "predictor:later"}
    assert not loaded(settings)


def test_same_size_same_tick_replacement_is_read_anew(tmp_path):
    """`stored.read` on files of equal size and modification time: only the inode tells them apart."""
    path = tmp_path / "thresholds.json"
    write_atomically(path, lambda partial: partial.write_text(json.dumps({"acme": 1})))
    tick = path.stat().st_mtime_ns
    assert stored.read(path, json.load) == {"acme": 1}
    write_atomically(path, lambda partial: partial.write_text(json.dumps({"acme": 2})))
    os.utime(path, ns=(tick, tick))
    assert stored.read(path, json.load) == {"acme": 2}
    with pytest.raises(ZeroDivisionError):  # a failed write leaves the file and no temporary file
        write_atomically(path, lambda partial: (partial.write_text("{"), 1 / 0))
    assert stored.read(path, json.load) == {"acme": 2} and [item.name for item in tmp_path.iterdir()] == [path.name]


def _served_home(home: Path, version: str) -> None:
    from ml.routing.model import fit

    rows = [
        {"task_text": f"{word} task {index}", "cheap_success": float(word == "easy"), "strong_success": 1.0}
        for index in range(60)
        for word in ("easy", "hard")
    ]
    save_local_champion(Settings(home=home), Champion(fit(pd.DataFrame(rows)), META, version))


def test_route_without_settings_follows_a_changed_aioa_home(tmp_path, monkeypatch):
    """route(task) reads the settings once per AIOA_HOME: switching the variable in the same process is honoured
    (before, the first home stayed until reload())."""
    from ml.routing.predict import route

    monkeypatch.delenv("AIOA_MLFLOW_TRACKING_URI", raising=False)
    first, second = tmp_path / "first", tmp_path / "second"
    _served_home(first, "3")
    _served_home(second, "4")
    monkeypatch.setenv("AIOA_HOME", str(first))
    assert route("please fix the easy typo").router_version == "3"
    monkeypatch.setenv("AIOA_HOME", str(second))
    assert route("please fix the easy typo").router_version == "4"
    monkeypatch.setenv("AIOA_HOME", str(first))
    assert route({"task_text": "please fix the easy typo"}).router_version == "3"
