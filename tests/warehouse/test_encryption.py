"""Encryption at rest (AIOA_WAREHOUSE_KEY): the warehouse and its snapshots cannot be opened without the key and hold
no readable row, every reader gives the same answers with the key, and `aioa warehouse rekey` keeps the data
readable with the new key only."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from aioa.cli import app
from aioa.doctor import _warehouse_key_check
from aioa.errors import error_log_path, report_error
from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.runner import ingest
from aioa.settings import Settings
from aioa.warehouse.connection import connect_reader
from aioa.warehouse.encryption import WarehouseKeyError, is_encrypted
from aioa.warehouse.rekey import rekey
from aioa.warehouse.snapshots import current_snapshot, open_snapshot
from tests.ingest.transcripts import assistant, write_jsonl

KEY, NEW_KEY = "correct horse battery staple", "tr0ub4dor&3 -- rotated"
# Stored verbatim in raw.llm_calls (the transcript's working folder): findable in a plain file's bytes.
MARKER_CWD = "/home/alice/src/zebra-confidential-project-0451"
runner = CliRunner()


def _logs(root: Path) -> Path:
    records = [
        assistant(f"msg_{i}", f"req_{i}", output=10 + i, input_tokens=100 * i, cwd=MARKER_CWD, session=f"s{i % 3}")
        for i in range(40)
    ]
    write_jsonl(root / "projects" / "-home-alice-src-zebra" / "s.jsonl", records)
    return root


def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, key: str | None) -> Settings:
    """A home with the same 40 calls ingested (and a snapshot published), encrypted with `key` or plain."""
    home = tmp_path / name
    monkeypatch.setenv("AIOA_HOME", str(home))
    if key is None:
        monkeypatch.delenv("AIOA_WAREHOUSE_KEY", raising=False)
    else:
        monkeypatch.setenv("AIOA_WAREHOUSE_KEY", key)
    settings = Settings()
    summary = ingest(ClaudeCodeSource(), [_logs(tmp_path / f"{name}-logs" / ".claude")], settings)
    assert summary.rows_added["llm_calls"] == 40
    return settings


def _report(monkeypatch: pytest.MonkeyPatch, settings: Settings, key: str | None) -> list[dict]:
    monkeypatch.setenv("AIOA_HOME", str(settings.home))
    if key is None:
        monkeypatch.delenv("AIOA_WAREHOUSE_KEY", raising=False)
    else:
        monkeypatch.setenv("AIOA_WAREHOUSE_KEY", key)
    result = runner.invoke(app, ["report", "daily", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _snapshot_calls(settings: Settings) -> tuple:
    connection, _ = open_snapshot(settings)
    with connection:
        cursor = connection.cursor().cursor()  # the API hands out a cursor, and queries take a cursor of it
        return cursor.execute("select count(*), sum(output_tokens) from raw.llm_calls").fetchall()[0]


def test_an_encrypted_warehouse_and_snapshot_cannot_be_opened_without_the_key(tmp_path, monkeypatch) -> None:
    plain = _home(tmp_path, monkeypatch, "plain", None)
    encrypted = _home(tmp_path, monkeypatch, "encrypted", KEY)
    snapshot = current_snapshot(encrypted)[1]

    # The control: the plain files hold the marker verbatim, so its absence below means something.
    assert MARKER_CWD.encode() in plain.warehouse_path.read_bytes()
    assert MARKER_CWD.encode() in current_snapshot(plain)[1].read_bytes()
    assert not is_encrypted(plain.warehouse_path)
    for path in (encrypted.warehouse_path, snapshot):
        assert is_encrypted(path)
        assert MARKER_CWD.encode() not in path.read_bytes()
        with pytest.raises(duckdb.Error, match="Cannot open encrypted database"):
            duckdb.connect(str(path), read_only=True)
        with pytest.raises(duckdb.Error, match="Wrong encryption key"):
            duckdb.connect().execute(f"attach '{path}' as guess (read_only, encryption_key 'not the key')")

    # Every reader of this home without the key is refused with a message that says what to set.
    monkeypatch.delenv("AIOA_WAREHOUSE_KEY")
    without_key = Settings()
    with pytest.raises(WarehouseKeyError, match="set AIOA_WAREHOUSE_KEY"):
        open_snapshot(without_key)
    with pytest.raises(WarehouseKeyError, match="set AIOA_WAREHOUSE_KEY"):
        connect_reader(encrypted.warehouse_path, without_key)
    result = runner.invoke(app, ["report", "daily", "--json"])
    assert isinstance(result.exception, WarehouseKeyError)
    problem = report_error(result.exception, where="cli report daily")  # what `aioa` prints, and its error log
    assert problem.exit_code == 2 and "set AIOA_WAREHOUSE_KEY" in problem.message
    assert KEY not in problem.message and KEY not in error_log_path().read_text()

    # With the key: the same answers as the plain home, through the locked-down reader (cursors too).
    assert _report(monkeypatch, encrypted, KEY) == _report(monkeypatch, plain, None)
    assert _snapshot_calls(encrypted) == _snapshot_calls(plain) == (40, sum(10 + i for i in range(40)))
    reader = connect_reader(snapshot, encrypted)
    with reader, pytest.raises(duckdb.Error, match="disabled by configuration"):
        reader.cursor().execute(f"select * from read_csv('{plain.warehouse_path}')").fetchall()


def test_rotation_keeps_the_data_readable_with_the_new_key_only(tmp_path, monkeypatch) -> None:
    settings = _home(tmp_path, monkeypatch, "home", KEY)
    before = _report(monkeypatch, settings, KEY)
    old_snapshot = current_snapshot(settings)[1].read_bytes()

    report = rekey(settings, NEW_KEY)
    assert report.files == [str(settings.warehouse_path), str(current_snapshot(settings)[1])]
    assert report.rows > 40 and report.tables >= 10  # every table copied and counted, raw.llm_calls among them
    assert current_snapshot(settings)[1].read_bytes() != old_snapshot
    assert not list(settings.home.rglob("*.partial"))

    assert _report(monkeypatch, settings, NEW_KEY) == before
    for path in (settings.warehouse_path, current_snapshot(settings)[1]):
        assert MARKER_CWD.encode() not in path.read_bytes()
    old = Settings(home=settings.home, warehouse_key=KEY)
    with pytest.raises(WarehouseKeyError, match="wrong key"):
        open_snapshot(old)
    with pytest.raises(WarehouseKeyError, match="wrong key"):
        connect_reader(settings.warehouse_path, old)

    # The new key keeps working for the writer: another ingest adds to the rotated warehouse and publishes.
    monkeypatch.setenv("AIOA_WAREHOUSE_KEY", NEW_KEY)
    root = tmp_path / "more" / ".claude"
    write_jsonl(root / "projects" / "p" / "s.jsonl", [assistant("msg_new", "req_new", output=7, cwd=MARKER_CWD)])
    assert ingest(ClaudeCodeSource(), [root], Settings()).rows_added["llm_calls"] == 1
    assert _snapshot_calls(Settings())[0] == 41


def test_rekey_command_encrypts_a_plain_home_and_decrypts_it_again(tmp_path, monkeypatch) -> None:
    settings = _home(tmp_path, monkeypatch, "home", None)
    before = _report(monkeypatch, settings, None)
    assert _warehouse_key_check(settings).status == "warn"
    assert _warehouse_key_check(Settings(home=settings.home, warehouse_key="")).status == "warn"  # empty: unset
    keyed_too_early = Settings(home=settings.home, warehouse_key=NEW_KEY)  # the key set before the files were encrypted
    assert _warehouse_key_check(keyed_too_early).status == "error"
    with pytest.raises(WarehouseKeyError, match="not encrypted: encrypt the home with `aioa warehouse rekey"):
        open_snapshot(keyed_too_early)
    key_file = tmp_path / "new.key"
    key_file.write_text(NEW_KEY + "\n")

    result = runner.invoke(app, ["warehouse", "rekey", "--new-key-file", str(key_file), "--json"])
    assert result.exit_code == 0, result.output
    assert NEW_KEY not in result.output
    assert json.loads(result.stdout)["encrypted"] is True
    assert is_encrypted(settings.warehouse_path) and is_encrypted(current_snapshot(settings)[1])

    monkeypatch.delenv("AIOA_WAREHOUSE_KEY", raising=False)
    monkeypatch.setenv("AIOA_WAREHOUSE_KEY_FILE", str(key_file))  # the key from a file, as a mounted secret
    assert json.loads(runner.invoke(app, ["report", "daily", "--json"]).stdout) == before
    assert _warehouse_key_check(Settings()).status == "ok"
    result = runner.invoke(app, ["warehouse", "rekey", "--decrypt"])
    assert result.exit_code == 0, result.output
    assert not is_encrypted(settings.warehouse_path) and not is_encrypted(current_snapshot(settings)[1])
    monkeypatch.delenv("AIOA_WAREHOUSE_KEY_FILE")
    assert _report(monkeypatch, settings, None) == before

    refused = runner.invoke(app, ["warehouse", "rekey"])  # neither a new key nor --decrypt
    assert refused.exit_code == 2


def test_a_backup_of_an_encrypted_home_stays_encrypted_and_restores_with_its_key(tmp_path, monkeypatch) -> None:
    from aioa.ops.backup import backup, restore

    settings = _home(tmp_path, monkeypatch, "home", KEY)
    before = _report(monkeypatch, settings, KEY)
    backup(settings, tmp_path / "backup")
    copied = next((tmp_path / "backup" / "home" / "snapshots").glob("warehouse-*.duckdb"))
    assert is_encrypted(copied) and MARKER_CWD.encode() not in copied.read_bytes()

    restored = Settings(home=tmp_path / "restored", warehouse_key=KEY)
    restore(tmp_path / "backup", restored)  # the snapshot becomes the working warehouse too: opened with the key
    assert is_encrypted(restored.warehouse_path) and is_encrypted(current_snapshot(restored)[1])
    assert _report(monkeypatch, restored, KEY) == before
