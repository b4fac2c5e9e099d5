"""Backup settings (AIOA_BACKUP_DIR, AIOA_BACKUP_KEEP_DAILY, AIOA_BACKUP_KEEP_WEEKLY) through the settings resource."""

from __future__ import annotations

from orchestration.settings_resource import SettingsResource


class BackupResource(SettingsResource):
    """Where and how many: read from the AIOA_* settings (or the fields a caller set, in tests)."""


class ArchiveResource(SettingsResource):
    """Where the archive lives (AIOA_ARCHIVE_URL) and the home whose tenants' retention applies."""
