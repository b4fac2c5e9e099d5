"""The dbt project as Dagster sees it. Its manifest is prepared by `dagster dev` (`prepare_if_dev`), by `aioa run`
(`prepare_manifest`, before the definitions load) or at deploy time (`dagster-dbt project prepare-and-package`);
importing the definitions never runs dbt otherwise."""

from dagster_dbt import DbtProject

from aioa.warehouse.dbt.runner import DBT_PROJECT_DIR, MANIFEST_TARGET

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, target_path=MANIFEST_TARGET, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
