"""Great Expectations suites (drift, freshness, volume: what dbt's tests do not check) as Dagster asset checks on the
marts; error-severity suites are blocking. Results are also stored for the app and doctor."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)

from aioa.quality.suites import SUITES
from orchestration.defs.warehouse.resources import WarehouseResource
from orchestration.executor import WRITER_TAG

SPECS = [
    AssetCheckSpec(
        name=suite.name,
        asset=AssetKey(suite.asset.split("/")),
        description=suite.description,
        blocking=suite.severity == "error",
    )
    for suite in SUITES
]


@multi_asset_check(
    specs=SPECS, can_subset=False, op_tags=WRITER_TAG, description="Runs every expectation suite on the marts."
)
def mart_quality_checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
    from aioa.quality import run_quality_checks
    from aioa.warehouse.session import with_session

    settings = warehouse.settings()
    results = with_session(settings, lambda session: run_quality_checks(session, settings.freshness_hours))
    for result in results:
        failed = [item for item in result.expectations if not item["success"]]
        yield AssetCheckResult(
            check_name=result.suite,
            asset_key=AssetKey(result.asset.split("/")),
            passed=result.success,
            severity=AssetCheckSeverity.ERROR if result.severity == "error" else AssetCheckSeverity.WARN,
            metadata={
                "expectations": len(result.expectations),
                "failed": len(failed),
                "failures": MetadataValue.json(failed[:10]),
                # what each column was measured as or against (e.g. the volume's baseline per org)
                "observed": MetadataValue.json(
                    {item["column"]: item["observed"] for item in result.expectations if item["observed"] is not None}
                ),
            },
        )
