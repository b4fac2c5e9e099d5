"""Whether the latest quality-check run allows publishing: no error-severity suite failed."""

from __future__ import annotations

from aioa.settings import Settings

_LATEST_FAILURES = """
select distinct suite from {quality}.check_results
where check_run_id = (select max(check_run_id) from {quality}.check_results)
  and severity = 'error' and not success
order by suite
"""


def failed_error_checks(settings: Settings) -> list[str]:
    """Suites that failed in the latest check run (none when checks never ran: dbt's own tests still gate)."""
    if settings.warehouse == "postgres":
        from aioa.warehouse.session import PostgresSession

        session = PostgresSession(settings)
        try:
            return session.frame(_LATEST_FAILURES)["suite"].tolist()
        except Exception as error:  # noqa: BLE001 - a missing results table means no check has run yet
            if "does not exist" in str(error):
                return []
            raise
    from aioa.warehouse.encryption import open_database

    with open_database(settings.warehouse_path, settings, read_only=True) as connection:
        exists = connection.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'quality' and table_name = 'check_results'"
        ).fetchone()[0]
        if not exists:
            return []
        sql = _LATEST_FAILURES.format(quality="quality")
        return [row[0] for row in connection.execute(sql).fetchall()]
