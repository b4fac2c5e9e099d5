"""Forecasting: Prophet per org and per project for daily tokens and cost, rolling-origin backtests against a
seasonal-naive baseline, month-end spend projections against budgets, and what-if costs (model mix, routing)."""
