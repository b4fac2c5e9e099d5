"""The ML domain's jobs: router retraining (the router and the read snapshot)."""

from dagster import AssetSelection, define_asset_job

from orchestration.defs.ml.assets import router

router_job = define_asset_job(
    "router_retraining",
    selection=AssetSelection.assets(router, "read_snapshot"),
    description="Retrain the router on the snapshot's feedback; promote only if better.",
)
