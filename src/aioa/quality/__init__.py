"""Data-quality checks on the marts (Great Expectations suites), stored in the warehouse for the app and doctor."""

from aioa.quality.checks import CheckResult, run_quality_checks

__all__ = ["CheckResult", "run_quality_checks"]
