"""Scheduled backups with retention: one backup folder per run under AIOA_BACKUP_DIR, then prune to the newest
backup of each of the last N days (AIOA_BACKUP_KEEP_DAILY) and of each of the last M ISO weeks
(AIOA_BACKUP_KEEP_WEEKLY). Only folders this module names (`aioa-<UTC time>`) are ever deleted."""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from aioa.ops.backup import BackupError, backup
from aioa.settings import Settings

NAME = re.compile(r"^aioa-(\d{8}T\d{6}Z)$")
STAMP = "%Y%m%dT%H%M%SZ"


@dataclass
class ScheduledBackup:
    path: str
    files: int
    bytes: int
    seconds: float
    kept: list[str]
    deleted: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


def backups_to_keep(stamps: list[datetime], keep_daily: int, keep_weekly: int) -> set[datetime]:
    """The newest backup of each of the `keep_daily` most recent days that have one, and of each of the
    `keep_weekly` most recent ISO weeks that have one (the two sets overlap)."""
    newest_first = sorted(stamps, reverse=True)
    keep: set[datetime] = set()
    for period, limit in (
        (lambda stamp: stamp.date(), keep_daily),
        (lambda stamp: stamp.isocalendar()[:2], keep_weekly),
    ):
        seen: set = set()
        for stamp in newest_first:
            if period(stamp) not in seen and len(seen) < limit:
                seen.add(period(stamp))
                keep.add(stamp)
    return keep


def existing_backups(folder: Path) -> dict[datetime, Path]:
    found = {}
    for path in folder.iterdir() if folder.is_dir() else ():
        match = NAME.match(path.name)
        if match and path.is_dir():
            found[datetime.strptime(match.group(1), STAMP).replace(tzinfo=UTC)] = path
    return found


def scheduled_backup(settings: Settings, now: datetime | None = None) -> ScheduledBackup:
    """Write `aioa-<now>` under AIOA_BACKUP_DIR, then delete the backups retention no longer keeps."""
    if settings.backup_dir is None:
        raise BackupError("AIOA_BACKUP_DIR is not set: name a folder outside AIOA_HOME for scheduled backups")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    folder = settings.backup_dir
    folder.mkdir(parents=True, exist_ok=True)
    report = backup(settings, folder / f"aioa-{now.strftime(STAMP)}")
    found = existing_backups(folder)
    keep = backups_to_keep(list(found), settings.backup_keep_daily, settings.backup_keep_weekly)
    deleted = []
    for stamp, path in sorted(found.items()):
        if stamp not in keep:
            shutil.rmtree(path)
            deleted.append(path.name)
    return ScheduledBackup(
        report.path,
        report.files,
        report.bytes,
        report.seconds,
        sorted(found[stamp].name for stamp in keep),
        deleted,
    )
