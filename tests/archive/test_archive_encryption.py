"""Encryption at rest reaches the retention archive: with a warehouse key (AIOA_WAREHOUSE_KEY) the archive's Parquet
files hold no readable value and open only with the key, readers count across the archive boundary as before,
`aioa warehouse rekey` moves the archive to the new key (the old one no longer reads it), a plain file left from
before the key is encrypted on the next write, and ingest and the privacy delete still reach the encrypted archive.

One copy of `built_home`, in this order: acme keeps 30 days and is archived in the clear (1,846 of its 2,421 calls
and 1,628 of its 2,094 tool calls, see test_archive.py); `rekey` encrypts the home; two files are put back in the
clear (an archive written before the key) and acme is archived again ten days later; `rekey` rotates the key; the
Claude Code logs are read again; alice@acme.example is deleted.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from aioa.archive.run import archive_run
from aioa.settings import Settings
from aioa.warehouse.encryption import WarehouseKeyError, add_archive_key, is_encrypted
from aioa.warehouse.rekey import rekey
from aioa.warehouse.snapshots import current_snapshot, open_snapshot

KEY, NEW_KEY = "correct horse battery staple", "tr0ub4dor&3 -- rotated"
ORG, EMAIL, USER_ID = "acme", "alice@acme.example", "alice"
TODAY, LATER = date(2026, 11, 30), date(2026, 12, 10)  # cutoffs 2026-10-31, then 2026-11-10
TABLES = ("marts/fct_llm_calls", "marts/fct_tool_calls", "raw/llm_calls", "raw/tool_calls")
MOVED = {"marts/fct_llm_calls": 1846, "marts/fct_tool_calls": 1628, "raw/llm_calls": 1846, "raw/tool_calls": 1628}
TOKENS = "input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens"
TOTALS = f"""
select org_id, count(*), count(distinct call_key), sum({TOKENS}), round(sum(cost_usd), 6)
from marts.fct_llm_calls group by org_id order by org_id
"""
ACROSS = f"""
select org_id, count(*), sum({TOKENS}), round(sum(cost_usd), 6)
from marts.fct_llm_calls where day between date '2026-10-15' and date '2026-11-15' group by org_id order by org_id
"""
RAW = """
select 'llm_calls', org_id, count(*), round(sum(cost_usd), 6) from raw.llm_calls group by all
union all
select 'tool_calls', org_id, count(*), null from raw.tool_calls group by all
order by all
"""
TOOLS = "select org_id, count(*), count(*) filter (where is_mcp), sum(duration_ms) from marts.fct_tool_calls group by 1"
runner = CliRunner()


def _files(settings: Settings) -> list[Path]:
    return sorted((settings.home / "archive").rglob("*.parquet"))


def _archived(settings: Settings, table: str, sql: str, key: str | None, params: list | None = None) -> list[tuple]:
    """`sql` over `archived`: the archive's rows of `table` read as a reader outside aioa would, with the Parquet
    key derived from the warehouse key `key` (None: as plain files)."""
    pattern = str(settings.home / "archive" / table / "**" / "*.parquet")
    options = ", encryption_config = {footer_key: 'aioa_archive'}" if key else ""
    with duckdb.connect() as connection:
        add_archive_key(connection, key)
        connection.execute(
            f"create view archived as select * from read_parquet('{pattern}', hive_partitioning = true{options})"
        )
        return connection.execute(sql, params or []).fetchall()


def _reads(settings: Settings) -> dict:
    """What readers see through the locked-down snapshot, and the usage report over raw calls (archived days too)."""
    connection, _ = open_snapshot(settings)
    try:
        reads = {name: connection.execute(sql).fetchall() for name, sql in (("totals", TOTALS), ("across", ACROSS))}
        reads |= {"raw": connection.execute(RAW).fetchall(), "tools": sorted(connection.execute(TOOLS).fetchall())}
    finally:
        connection.close()
    result = runner.invoke(app(), ["report", "usage", "monthly", "--org", ORG, "--json"])
    assert result.exit_code == 0, result.output
    reads["usage_report"] = json.loads(result.stdout)
    return reads


def app():
    from aioa.cli import app as cli

    return cli


def _plain_copy(settings: Settings, path: Path, key: str) -> None:
    """Put the archive file `path` back in the clear, as an archive written before the key was set."""
    plain = path.with_name("plain.tmp")
    with duckdb.connect() as connection:
        add_archive_key(connection, key)
        connection.execute(
            f"copy (select * from read_parquet('{path}', hive_partitioning = false, "
            f"encryption_config = {{footer_key: 'aioa_archive'}})) to '{plain}' (format parquet)"
        )
    plain.replace(path)


def _keyed(patch: pytest.MonkeyPatch, home: Path, key: str | None) -> Settings:
    patch.setenv("AIOA_HOME", str(home))
    if key is None:
        patch.delenv("AIOA_WAREHOUSE_KEY", raising=False)
    else:
        patch.setenv("AIOA_WAREHOUSE_KEY", key)
    return Settings()


@pytest.fixture(scope="module")
def outcome(built_home: Path, sample_dir: Path, tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("archive-encryption") / "home"
    shutil.copytree(built_home, home)
    seen: dict = {}
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AIOA_DATABASE_URL", "AIOA_ARCHIVE_URL", "AIOA_ATTRIBUTION_FILE", "AIOA_WAREHOUSE_KEY_FILE"):
            patch.delenv(name, raising=False)
        settings = _keyed(patch, home, None)
        from aioa.identity.principal import local_operator
        from aioa.tenants.settings_doc import update_tenant_settings

        retention = {"calls_days": 30, "raw_rows_days": 30}
        update_tenant_settings(settings, ORG, {"retention": retention}, actor=local_operator())
        seen["before"] = _reads(settings)

        # 1. archived in the clear (the control for what encryption must hide)
        seen["plain_run"] = archive_run(settings, today=TODAY)
        seen["plain_bytes"] = {path.name + str(i): path.read_bytes() for i, path in enumerate(_files(settings))}
        seen["markers"] = [
            row[0]
            for row in _archived(
                settings, "marts/fct_llm_calls", "select distinct session_id from archived order by 1", None
            )
        ]

        # 2. the home encrypted (key unset while it runs), then the key set
        seen["encrypt"] = rekey(settings, KEY)
        settings = _keyed(patch, home, KEY)
        seen["encrypted_bytes"] = [path.read_bytes() for path in _files(settings)]
        seen["encrypted"] = _reads(settings)

        # 3. two files back in the clear (written before the key): one where the next run merges, one it leaves
        merged = next((home / "archive" / "marts" / "fct_llm_calls" / "org=acme" / "month=2026-10").glob("*.parquet"))
        untouched = next((home / "archive" / "raw" / "tool_calls" / "org=acme" / "month=2026-07").glob("*.parquet"))
        for path in (merged, untouched):
            _plain_copy(settings, path, KEY)
        seen["plain_again"] = [path.read_bytes()[-4:] for path in (merged, untouched)]
        seen["later_run"] = archive_run(settings, today=LATER)
        seen["later_bytes"] = [path.read_bytes()[-4:] for path in _files(settings)]
        seen["later"] = _reads(settings)

        # 4. the key rotated
        seen["old_snapshot"] = current_snapshot(settings)[1].read_bytes()
        seen["rotate"] = rekey(settings, NEW_KEY)
        settings = _keyed(patch, home, NEW_KEY)
        seen["rotated"] = _reads(settings)
        seen["rotated_bytes"] = [path.read_bytes() for path in _files(settings)]

        # 5. the Claude Code logs read again: archived lines are recognised in the encrypted archive
        from aioa.ingest.registry import BY_NAME
        from aioa.ingest.runner import ingest
        from aioa.warehouse import connect

        with connect(settings) as connection:
            connection.execute("delete from raw.ingest_manifest where source_system = 'claude_code'")
        paths = sorted(sample_dir.glob("claude-code/*/.claude"))
        seen["reingest"] = ingest(BY_NAME["claude_code"].source(), paths, settings, publish=False)

        # 6. alice deleted: her archived rows rewritten pseudonymised, still encrypted
        from aioa.privacy.delete import delete_subject

        seen["sizes"] = {
            table: _archived(settings, table, "select count(*) from archived", NEW_KEY)[0][0] for table in TABLES
        }
        seen["theirs"] = {
            table: _archived(settings, table, "select count(*) from archived where user_id = ?", NEW_KEY, [USER_ID])
            for table in TABLES
        }
        from aioa.privacy.export import export_subject

        seen["exported"] = export_subject(settings, EMAIL)["warehouse"]["row_counts"]
        seen["delete"] = delete_subject(settings, EMAIL)
        seen["deleted"] = _reads(settings)
        seen["settings"] = settings
        yield seen


def test_archived_files_hold_no_readable_value_and_open_only_with_the_key(outcome: dict) -> None:
    settings = outcome["settings"]
    assert outcome["plain_run"].rows == {table.replace("/", "."): {ORG: MOVED[table]} for table in TABLES}
    plain = list(outcome["plain_bytes"].values())
    # The control: plain files end in PAR1, name their columns and hold acme's session ids verbatim.
    assert len(plain) == 16 and all(data[-4:] == b"PAR1" and b"org_id" in data for data in plain)
    markers = [marker.encode() for marker in outcome["markers"]]
    assert len(markers) > 100 and sum(any(m in data for m in markers) for data in plain) >= 4

    encrypted = outcome["encrypted_bytes"]
    assert len(encrypted) == len(outcome["plain_bytes"]) == 16  # 4 tables x 4 months
    for data in encrypted:
        assert data[:4] == data[-4:] == b"PARE"
        assert b"org_id" not in data and b"session_id" not in data and b"acme" not in data
        assert not any(marker in data for marker in markers)
    assert outcome["encrypt"].archive_files == 16 and outcome["encrypt"].archive_rows == sum(MOVED.values())

    # Without the key, or with a key derived from another warehouse key, no reader gets a row.
    with pytest.raises(duckdb.InvalidInputException, match="is encrypted, but 'encryption_config' was not set"):
        _archived(settings, "marts/fct_llm_calls", "select count(*) from archived", None)
    with pytest.raises(duckdb.InvalidInputException, match="AES tag differs"):
        _archived(settings, "marts/fct_llm_calls", "select count(*) from archived", KEY)  # the key before rotation
    assert _archived(settings, "marts/fct_llm_calls", "select count(*) from archived", NEW_KEY)[0][0] > 1846


def test_readers_count_across_the_archive_boundary_as_before_with_the_key(outcome: dict) -> None:
    before = outcome["before"]
    acme = next(row for row in before["totals"] if row[0] == ORG)
    assert acme[1:3] == (2421, 2421)
    assert sum(row[1] for row in before["across"]) > 0
    for stage in ("encrypted", "later", "rotated"):
        assert outcome[stage] == before, stage  # calls, tokens, cost, raw rows, tool calls, the usage report
    # the run ten days later moved more of acme's calls (into partitions that already held encrypted files)
    assert outcome["later_run"].calls[ORG] > 0
    assert outcome["later_run"].partitions_written


def test_a_plain_file_from_before_the_key_is_encrypted_on_the_next_write(outcome: dict) -> None:
    assert outcome["plain_again"] == [b"PAR1", b"PAR1"]
    assert set(outcome["later_bytes"]) == {b"PARE"}  # the merged one by the run, the other one at publication


def test_rotation_moves_the_archive_to_the_new_key_only(outcome: dict) -> None:
    settings, rotate = outcome["settings"], outcome["rotate"]
    assert rotate.archive_files == len(outcome["rotated_bytes"]) >= 16
    assert rotate.archive_rows == sum(outcome["sizes"].values())
    assert all(data[-4:] == b"PARE" for data in outcome["rotated_bytes"])
    assert not list((settings.home / "archive").rglob("*.partial")) and not list(
        (settings.home / "archive" / ".rekey").glob("*")
    )
    assert current_snapshot(settings)[1].read_bytes() != outcome["old_snapshot"]
    assert is_encrypted(settings.warehouse_path) and is_encrypted(current_snapshot(settings)[1])
    old = Settings(home=settings.home, warehouse_key=KEY)
    with pytest.raises(WarehouseKeyError, match="wrong key"):
        open_snapshot(old)
    for table in TABLES:  # the old key's Parquet key reads no archived file
        with pytest.raises(duckdb.InvalidInputException, match="AES tag differs"):
            _archived(settings, table, "select count(*) from archived", KEY)


def test_rekey_again_skips_the_files_already_under_the_new_key(outcome: dict) -> None:
    from aioa.archive.rekey import rekey_archive

    settings = outcome["settings"]
    again = rekey_archive(settings, NEW_KEY, NEW_KEY)
    assert (again.files, again.skipped) == (0, len(_files(settings)))
    with pytest.raises(WarehouseKeyError, match="wrong key") as error:
        rekey_archive(settings, KEY, "a third key")
    assert KEY not in str(error.value) and "a third key" not in str(error.value)


def test_reading_the_logs_again_recognises_the_encrypted_archive(outcome: dict) -> None:
    summary = outcome["reingest"]
    assert summary.files_read > 0 and summary.lines_read > 0
    assert summary.rows_added == {"llm_calls": 0, "tool_calls": 0}


def test_the_privacy_export_reads_the_encrypted_archive(outcome: dict) -> None:
    theirs = outcome["theirs"]
    assert all(count[0][0] > 0 for count in theirs.values()), theirs  # alice has archived rows in every table
    for table in TABLES:
        assert outcome["exported"][f"archive:{table.replace('/', '.')}"] == theirs[table][0][0], table


def test_the_privacy_delete_rewrites_the_encrypted_archive(outcome: dict) -> None:
    settings, report = outcome["settings"], outcome["delete"]
    assert report.rebuilt
    assert report.archive["rows_rewritten"] == {table.replace("/", "."): outcome["sizes"][table] for table in TABLES}
    assert report.archive["rows_not_rebuilt"] == {table.replace("/", "."): 0 for table in TABLES}
    assert all(path.read_bytes()[-4:] == b"PARE" for path in _files(settings))
    for table in TABLES:
        theirs = _archived(settings, table, "select count(*) from archived where user_id = ?", NEW_KEY, [USER_ID])
        assert theirs == [(0,)], table
        size = _archived(settings, table, "select count(*) from archived", NEW_KEY)[0][0]
        assert size == outcome["sizes"][table], table
        named = _archived(
            settings,
            table,
            "select count(*) from archived as a where contains(lower(cast(a as varchar)), ?)",
            NEW_KEY,
            [EMAIL],
        )
        assert named == [(0,)], table
    assert outcome["deleted"]["totals"] == outcome["before"]["totals"]
    assert outcome["deleted"]["raw"] == outcome["before"]["raw"]
