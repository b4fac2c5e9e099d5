"""The warehouse domain's definitions: dbt models, quality checks and the read snapshot."""

from dagster import Definitions, EnvVar

from orchestration.defs.warehouse.assets import aioa_dbt_models, read_snapshot
from orchestration.defs.warehouse.checks import mart_quality_checks
from orchestration.defs.warehouse.resources import WarehouseResource, dbt_resource

defs = Definitions(
    assets=[aioa_dbt_models, read_snapshot],
    asset_checks=[mart_quality_checks],
    resources={"dbt": dbt_resource(), "warehouse": WarehouseResource(aioa_home=EnvVar("AIOA_HOME"))},
)
