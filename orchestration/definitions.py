"""The one Dagster code location: merges each domain's definitions, no logic here."""

from dagster import Definitions

from orchestration.defs.ingest import definitions as ingest
from orchestration.defs.integrations import definitions as integrations
from orchestration.defs.mcp import definitions as mcp
from orchestration.defs.ml import definitions as ml
from orchestration.defs.ops import definitions as ops
from orchestration.defs.rules import definitions as rules
from orchestration.defs.warehouse import definitions as warehouse
from orchestration.executor import executor

defs = Definitions.merge(
    ingest.defs,
    integrations.defs,
    mcp.defs,
    warehouse.defs,
    ml.defs,
    rules.defs,
    ops.defs,
    Definitions(executor=executor()),
)
