"""Scheduled backups: the retention rule (newest per day for N days, per ISO week for M weeks) and the Dagster job of
the code location writing a verifiable backup and pruning the old ones."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

from aioa.ops.backup import verify
from aioa.ops.retention import STAMP, backups_to_keep
from aioa.settings import Settings


def test_retention_keeps_newest_per_day_then_per_week():
    start = datetime(2026, 11, 1, 3, 30, tzinfo=UTC)  # a Sunday
    stamps = [start + timedelta(days=day) for day in range(30)]
    stamps += [start + timedelta(days=29, hours=12)]  # a second backup on the newest day
    keep = backups_to_keep(stamps, keep_daily=3, keep_weekly=3)
    newest = start + timedelta(days=29, hours=12)
    daily = {newest, start + timedelta(days=28), start + timedelta(days=27)}
    # newest of ISO week 49 (Mon Nov 30), of week 48 (Sun Nov 29) and of week 47 (Sun Nov 22)
    weekly = {newest, start + timedelta(days=28), start + timedelta(days=21)}
    assert keep == daily | weekly
    assert backups_to_keep(stamps, keep_daily=1, keep_weekly=0) == {newest}
    assert backups_to_keep([], keep_daily=7, keep_weekly=4) == set()


def test_the_scheduled_job_backs_up_and_prunes(built_home, tmp_path):
    from orchestration.definitions import defs
    from orchestration.defs.ops.resources import BackupResource

    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    folder = tmp_path / "backups"
    old = [datetime(2026, 1, day, 3, 30, tzinfo=UTC) for day in (5, 6, 7)]  # three days of one ISO week
    for stamp in old:
        (folder / f"aioa-{stamp.strftime(STAMP)}").mkdir(parents=True)
    (folder / "keep-me-not-ours").mkdir()

    settings = Settings(home=home, backup_dir=folder, backup_keep_daily=2, backup_keep_weekly=2)
    job = defs.resolve_job_def("scheduled_backup_job")
    assert defs.resolve_schedule_def("nightly_backup").job_name == "scheduled_backup_job"
    result = job.execute_in_process(resources={"backups": BackupResource.for_settings(settings)})
    assert result.success
    output = result.output_for_node("backup_home")

    names = sorted(path.name for path in folder.iterdir())
    # kept: today's backup and the newest of Jan 5-7 (2 days: today, Jan 7; 2 weeks: today's, Jan 5-7's week)
    assert output["deleted"] == ["aioa-20260105T033000Z", "aioa-20260106T033000Z"]
    assert names == sorted(["aioa-20260107T033000Z", "keep-me-not-ours", output["path"].rsplit("/", 1)[1]])
    report = verify(folder / output["path"].rsplit("/", 1)[1])
    assert report.ok and report.files == output["files"]
    manifest = json.loads((folder / output["path"].rsplit("/", 1)[1] / "MANIFEST.json").read_text())
    assert manifest["settings"]["backup_keep_daily"] == 2
