"""`aioa-dbt`: the dbt command line, configured from aioa settings and started without one import-time cost that
dbt never needs.

`aioa-dbt --aioa-settings FILE <dbt args>` (how the pipeline's DbtCliResource calls it) reads the run's settings
from FILE (written by the dbt asset; secrets come from AIOA_* variables) and sets dbt's profile variables
(`aioa.warehouse.dbt.runner.dbt_env`) in this process only, so the caller never changes its own environment.
Target and log paths the caller chose (Dagster sets them per invocation) are kept.

jsonschema registers an "iri" format checker when the `rfc3987_syntax` package is installed (JupyterLab brings it),
and that package builds a Lark grammar on import: 1.4–2.7 s of every dbt start on 2 cores. dbt validates no IRI
formats, so this process simply hides the package; every other dbt behaviour is unchanged.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

SETTINGS_FLAG = "--aioa-settings"
CALLER_CHOICES = ("DBT_TARGET_PATH", "DBT_LOG_PATH", "DBT_LOG_FORMAT")


def configure_from_settings_file(path: Path) -> None:
    from aioa.settings import Settings
    from aioa.warehouse.dbt.runner import dbt_env

    settings = Settings(**json.loads(path.read_text()))
    env = dbt_env(settings)
    env |= {key: os.environ[key] for key in CALLER_CHOICES if key in os.environ}
    os.environ.update(env)


def main() -> None:
    arguments = sys.argv[1:]
    if SETTINGS_FLAG in arguments:
        index = arguments.index(SETTINGS_FLAG)
        configure_from_settings_file(Path(arguments[index + 1]))
        del arguments[index : index + 2]
        sys.argv[1:] = arguments
    sys.modules.setdefault("rfc3987_syntax", None)  # None in sys.modules: `import` raises ImportError, skipped
    from dbt.cli.main import cli

    sys.exit(cli())
