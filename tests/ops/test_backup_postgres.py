"""The accounts/audit store on the real PostgreSQL server (127.0.0.1:5432): `aioa backup` dumps it with pg_dump,
`aioa restore` loads it into an empty database only, and a damaged dump changes nothing."""

from __future__ import annotations

import json

import psycopg2
import pytest

from aioa.identity import accounts, audit
from aioa.ops.backup import BackupCorrupted, BackupError, backup, restore
from aioa.settings import Settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def databases(pg_databases):
    return [pg_databases("aioa_backup") for _ in range(3)]


def test_identity_store_round_trips_through_pg_dump(databases, tmp_path):
    source_url, target_url, spare_url = databases
    source = Settings(home=tmp_path / "home", database_url=source_url)
    source.home.mkdir()
    (source.home / "attribution.yaml").write_text("orgs: []\n")
    accounts.create_user(source, "pat@acme.test", org_id="acme", role="admin", password="a long enough password 1")
    accounts.create_user(source, "sam@acme.test", org_id="acme", role="viewer", password="a long enough password 2")

    report = backup(source, tmp_path / "backup")
    manifest = json.loads((tmp_path / "backup" / "MANIFEST.json").read_text())
    assert manifest["databases"] == {"identity": source_url}
    assert [entry["kind"] for entry in manifest["files"]].count("postgres") == 1 and report.files == 2

    target = Settings(home=tmp_path / "restored", database_url=target_url)
    restore(tmp_path / "backup", target)
    assert [user.email for user in accounts.list_users(target)] == ["pat@acme.test", "sam@acme.test"]
    assert audit.verify(target).ok and audit.verify(target).entries == audit.verify(source).entries > 0
    assert (target.home / "attribution.yaml").read_text() == "orgs: []\n"

    again = Settings(home=tmp_path / "second", database_url=target_url)  # the database is no longer empty
    with pytest.raises(BackupError, match="is not empty"):
        restore(tmp_path / "backup", again)
    assert not again.home.exists()

    dump = tmp_path / "backup" / "postgres" / "identity.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    spare = Settings(home=tmp_path / "third", database_url=spare_url)
    with pytest.raises(BackupCorrupted, match="postgres/identity.dump does not match its checksum"):
        restore(tmp_path / "backup", spare)
    connection = psycopg2.connect(spare_url)
    with connection, connection.cursor() as cursor:
        cursor.execute("select count(*) from information_schema.tables where table_schema = 'public'")
        assert cursor.fetchone()[0] == 0
    connection.close()
    assert not spare.home.exists()

    unconfigured = Settings(home=tmp_path / "fourth")  # no AIOA_DATABASE_URL: the dump has nowhere to go
    with pytest.raises(BackupError, match="set AIOA_DATABASE_URL"):
        restore(tmp_path / "backup", unconfigured)
