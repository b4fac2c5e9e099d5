"""Natural-language questions over the marts: offline parser or LLM, one guarded SQL path, tenant-scoped."""

from aioa.ask.guard import QueryRefused, guard
from aioa.ask.result import AskResult, ChartSpec
from aioa.ask.service import ask, run_sql

__all__ = ["AskResult", "ChartSpec", "QueryRefused", "ask", "guard", "run_sql"]
