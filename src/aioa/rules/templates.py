"""Starting points for new rules (the app's Automations page: "create from a template"). Each is a complete rule in
the YAML format of docs/automation.md; a test checks that every one parses."""

from __future__ import annotations

TEMPLATES: dict[str, str] = {
    "Spend spike per project": """\
name: spend-spike
description: Daily spend of a project three times its usual level.
severity: warning
trigger:
  kind: metric_threshold
  metric: spend
  window_days: 1
  baseline_days: 28
  group_by: [project]
condition: "ratio >= 3.0 && value > 20.0"
actions:
  - type: notify
    email: [finops@example.com]
""",
    "Runaway agent": """\
name: runaway-agent
severity: critical
trigger:
  kind: anomaly_detected
  anomaly_kinds: [runaway_agent, usage_surge]
  since_days: 2
condition: "ratio >= 3.0"
group_by: [driver_user]
notify:
  escalate_after: 30m
actions:
  - type: notify
    email: [oncall@example.com]
""",
    "Budget will be exceeded": """\
name: over-budget
trigger:
  kind: budget_forecast
  min_probability: 0.8
condition: "share_of_budget > 1.1"
actions:
  - type: notify
    email: [finance@example.com]
""",
    "Slow models (latency p95)": """\
name: slow-models
trigger:
  kind: sla_breach
  metric: latency_p95_ms
  above: 30000
  window_days: 1
  group_by: [model]
actions:
  - type: notify
    email: [platform@example.com]
""",
    "Retrain the router on drift": """\
name: router-drift-retrain
trigger:
  kind: router_drift
  min_severity: warn
  metrics: [success_rate]
condition: "value <= -0.05"
actions:
  - type: retrain_router
""",
    "Tune the router to a quality floor": """\
name: router-quality-floor
trigger:
  kind: schedule
  cron: "0 6 * * *"
  timezone: UTC
actions:
  - type: set_router_threshold
    quality_floor: 0.85
    max_step: 0.05
    min_threshold: -0.3
    max_threshold: 0.3
""",
    "MCP server down": """\
name: mcp-down
severity: critical
trigger:
  kind: mcp_server_down
  consecutive_probes: 2
actions:
  - type: notify
    email: [platform@example.com]
""",
    "Pipeline step keeps failing": """\
name: pipeline-keeps-failing
severity: critical
trigger:
  kind: pipeline_step_failing
  consecutive_runs: 3
actions:
  - type: notify
    email: [data@example.com]
""",
}
