"""Recommendations: rules over the marts plus the models' estimates (off-policy routing, anomalies), each with an
estimated monthly saving and the evidence behind it. `engine.recommend()` is what the CLI, the app and reports call
(this package imports nothing at start-up: `aioa --help` stays fast)."""
