"""`aioa-dbt`: the dbt command line, started without one import-time cost that dbt never needs.

jsonschema registers an "iri" format checker when the `rfc3987_syntax` package is installed (JupyterLab brings it),
and that package builds a Lark grammar on import: 1.4–2.7 s of every dbt start on 2 cores. dbt validates no IRI
formats, so this process simply hides the package; every other dbt behaviour is unchanged.
"""

from __future__ import annotations

import sys


def main() -> None:
    sys.modules.setdefault("rfc3987_syntax", None)  # None in sys.modules: `import` raises ImportError, skipped
    from dbt.cli.main import cli

    sys.exit(cli())
