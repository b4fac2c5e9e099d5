"""Usage reports (daily, monthly, session, project, model) read through the data-access layer."""

from aioa.reports.usage import REPORT_KINDS, usage_report

__all__ = ["REPORT_KINDS", "usage_report"]
