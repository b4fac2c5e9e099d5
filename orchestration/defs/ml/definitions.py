"""The ML domain's definitions: router retraining, forecasts and anomaly detection, each with quality checks;
performance prediction, capacity planning and routing drift."""

from dagster import Definitions

from orchestration.defs.ml import anomalies, drift, forecasting, performance, routing

defs = Definitions.merge(routing.defs, forecasting.defs, anomalies.defs, performance.defs, drift.defs)
