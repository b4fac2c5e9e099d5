"""Router retraining in Dagster: the asset trains and promotes on a built home and its check passes; a worse model
fails the check and does not ship; no handoffs or no snapshot end with a clear message; the sensor requests
retraining only when enough new verified feedback arrived (cursor)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from dagster import AssetCheckSeverity, RunRequest, SkipReason, build_sensor_context, materialize
from orchestration.defs.ml.assets import router
from orchestration.defs.ml.checks import router_beats_champion_and_baselines, router_check_result
from orchestration.defs.ml.sensors import new_routing_feedback
from orchestration.defs.warehouse.resources import WarehouseResource

from aioa.settings import Settings


def _copy(built_home, sample_dir, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    (home / "sample" / "labels").mkdir(parents=True)  # the generator's truth: expected outcomes for evaluation
    shutil.copy(sample_dir / "labels" / "routing_truth.csv", home / "sample" / "labels")
    return home


def _run(home):
    result = materialize(
        [router, router_beats_champion_and_baselines],
        resources={"warehouse": WarehouseResource(aioa_home=str(home))},
        raise_on_error=False,
    )
    metadata = result.asset_materializations_for_node("ml__router")[0].metadata
    check = result.get_asset_check_evaluations()[0]
    return result, {key: value.value for key, value in metadata.items()}, check


def test_asset_trains_promotes_and_a_worse_model_fails_the_check(built_home, sample_dir, tmp_path):
    home = _copy(built_home, sample_dir, tmp_path)
    result, metadata, check = _run(home)
    assert result.success and metadata["trained"] and metadata["promoted"] and metadata["version"] == "1"
    assert metadata["outcomes"] == "expected" and metadata["apgr"] > metadata["keyword_apgr"]
    assert check.passed and "is the champion" in check.description
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.ml_tables import read_ml_table

    # what operators will see once the run publishes (the asset writes to the working warehouse)
    stored = read_ml_table(Settings(home=home), "routing_evaluation", TenantScope.all_orgs(), published=False)
    stored = stored.set_index("router")
    assert stored.loc["router", "apgr"] == pytest.approx(metadata["apgr"])
    assert stored.loc["router", "champion_version"] == "1" and json.loads(stored.loc["router", "curve_json"])["cost"]

    from ml.routing.data import from_handoffs
    from ml.routing.train import load_handoffs, load_truth, train_router

    settings = Settings(home=home)
    data = from_handoffs(load_handoffs(settings))
    shuffled = data.frame.assign(cheap_success=np.random.default_rng(0).permutation(data.frame["cheap_success"]))
    worse, _ = train_router(settings, type(data)(shuffled, data.cheap_model, data.strong_model), load_truth(settings))
    assert not worse.promoted and worse.version == "2"
    failed = router_check_result(settings, worse.version)
    assert not failed.passed and failed.severity == AssetCheckSeverity.ERROR
    assert "does not beat the baselines" in failed.description
    from ml.routing.predict import champion, reload

    reload()
    assert champion(settings).version == "1"  # the worse model did not ship


def test_no_handoffs_or_no_snapshot_end_with_a_clear_message(built_home, sample_dir, tmp_path):
    from aioa.warehouse.connection import connect
    from aioa.warehouse.snapshots import publish_snapshot

    home = _copy(built_home, sample_dir, tmp_path)
    connection = connect(Settings(home=home))
    connection.execute("delete from marts.fct_handoffs")
    connection.close()
    publish_snapshot(Settings(home=home))
    result, metadata, check = _run(home)
    assert result.success and metadata["trained"] is False and "no handoffs yet" in metadata["message"]
    assert not check.passed and check.severity == AssetCheckSeverity.WARN and "no handoffs yet" in check.description

    empty = tmp_path / "empty"
    empty.mkdir()
    result, metadata, _ = _run(empty)
    assert result.success and metadata["trained"] is False and "snapshot" in metadata["message"]


def test_sensor_requests_retraining_only_after_enough_new_feedback(built_home, tmp_path, monkeypatch):
    from aioa.warehouse.snapshots import open_snapshot

    connection, _ = open_snapshot(Settings(home=built_home))
    with connection:
        verified = connection.execute(
            "select count(*) from marts.fct_handoffs where success is not null and outcome_verified"
        ).fetchone()[0]
    assert verified > 1000
    resources = {"warehouse": WarehouseResource(aioa_home=str(built_home))}
    context = build_sensor_context(resources=resources)
    first = new_routing_feedback(context)
    assert isinstance(first, RunRequest) and json.loads(context.cursor) == {"verified_outcomes": verified}
    again = new_routing_feedback(build_sensor_context(resources=resources, cursor=context.cursor))
    assert isinstance(again, SkipReason) and "0 new verified outcomes" in again.skip_message
    cursor = json.dumps({"verified_outcomes": verified - 499})  # 499 new: one short of the default 500
    assert isinstance(new_routing_feedback(build_sensor_context(resources=resources, cursor=cursor)), SkipReason)
    cursor = json.dumps({"verified_outcomes": verified - 500})
    assert isinstance(new_routing_feedback(build_sensor_context(resources=resources, cursor=cursor)), RunRequest)
    no_snapshot = {"warehouse": WarehouseResource(aioa_home=str(tmp_path / "nothing"))}
    skipped = new_routing_feedback(build_sensor_context(resources=no_snapshot))
    assert isinstance(skipped, SkipReason) and "no read snapshot" in skipped.skip_message


@pytest.fixture(autouse=True)
def _fresh_router_cache():
    from ml.routing.predict import reload

    reload()
    yield
    reload()
