"""Usage reports (daily, monthly, session, project, model) read through the data-access layer.

The names load on first use (PEP 562): `aioa.reports.output`, which `aioa --help` imports for its `--format`
option, must not pull DuckDB and the settings in through `aioa.reports.usage`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aioa.reports.usage import REPORT_KINDS, usage_report

__all__ = ["REPORT_KINDS", "usage_report"]


def __getattr__(name: str):
    if name in __all__:
        from aioa.reports import usage

        return getattr(usage, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
