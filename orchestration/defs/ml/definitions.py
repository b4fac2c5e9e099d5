"""The ML domain's definitions: router retraining, forecasts and anomaly detection, each with quality checks;
performance prediction, capacity planning and routing drift."""

from dagster import Definitions

from orchestration.defs.ml.assets import (
    anomalies,
    capacity_forecast,
    forecasts,
    performance_predictor,
    router,
    routing_drift,
)
from orchestration.defs.ml.checks import (
    anomalies_match_labels,
    anomalies_name_their_drivers,
    forecasts_beat_baselines,
    router_beats_champion_and_baselines,
)
from orchestration.defs.ml.jobs import router_job
from orchestration.defs.ml.schedules import weekly_router_retraining
from orchestration.defs.ml.sensors import new_routing_feedback

defs = Definitions(
    assets=[router, forecasts, anomalies, performance_predictor, capacity_forecast, routing_drift],
    asset_checks=[
        router_beats_champion_and_baselines,
        forecasts_beat_baselines,
        anomalies_match_labels,
        anomalies_name_their_drivers,
    ],
    jobs=[router_job],
    schedules=[weekly_router_retraining],
    sensors=[new_routing_feedback],
)
