"""The integrations domain's definitions: the raw tables that link usage to commits, pull requests and issues
(its resource, `usage_logs`, is the ingest domain's)."""

from dagster import Definitions

from orchestration.defs.integrations.assets import linked_work

defs = Definitions(assets=[linked_work])
