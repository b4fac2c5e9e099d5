"""Which warehouse the pipeline builds, and dbt: configured from settings / environment (AIOA_HOME, AIOA_WAREHOUSE,
…) or, for `aioa run`, from the caller's Settings object."""

from dagster_dbt import DbtCliResource

from aioa.settings import Settings
from aioa.warehouse.dbt.runner import dbt_executable, settings_file
from orchestration.defs.warehouse.project import dbt_project
from orchestration.settings_resource import SettingsResource


class WarehouseResource(SettingsResource):
    """The warehouse's settings; empty fields fall back to the `aioa` settings (environment variables AIOA_*)."""


def dbt_resource(settings: Settings | None = None) -> DbtCliResource:
    """dbt through the `aioa-dbt` launcher, which sets dbt's profile variables in its own process from the settings
    file the dbt asset writes for the run (`--aioa-settings`); the caller's environment is never changed."""
    settings = settings or Settings()
    return DbtCliResource(
        project_dir=dbt_project,
        dbt_executable=dbt_executable(),
        global_config_flags=["--aioa-settings", str(settings_file(settings))],
    )
