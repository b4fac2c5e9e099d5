"""The ML domain's definitions: router retraining, forecasts and anomaly detection, each with quality checks."""

from dagster import Definitions

from orchestration.defs.ml import anomalies, forecasting, routing

defs = Definitions.merge(routing.defs, forecasting.defs, anomalies.defs)
