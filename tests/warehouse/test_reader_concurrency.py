"""Readers opened by many threads at once (the API's worker pool on its first requests) all open locked down."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import duckdb

from aioa.settings import Settings
from aioa.warehouse.connection import connect_reader


def test_concurrent_readers_of_one_file_all_open_locked(tmp_path):
    path = tmp_path / "snapshot.duckdb"
    with duckdb.connect(str(path)) as writer:
        writer.execute("create table t as select range as n from range(1000)")
    settings = Settings(home=tmp_path)

    def open_and_read(_):
        connection = connect_reader(path, settings)
        try:
            total = connection.execute("select sum(n) from t").fetchall()[0][0]
            external, locked = connection.execute(
                "select current_setting('enable_external_access'), current_setting('lock_configuration')"
            ).fetchall()[0]
            return total, external, locked
        finally:
            connection.close()

    for _ in range(5):  # the race showed on the first concurrent opens of a process
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(open_and_read, range(64)))
        assert results == [(499500, False, True)] * 64
