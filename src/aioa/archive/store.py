"""The archive's file system: the configured folder or fsspec URL, seen by DuckDB as `aioaarchive://`.

Writers (the archive run, the privacy delete) get it writable; readers get it read-only, so a reader's `COPY` can
never plant rows in the archive, and `..` cannot leave it. One protocol name for both: the snapshot's archive view
names `aioaarchive://…` and works wherever the archive lives.
"""

from __future__ import annotations

import fsspec
from fsspec.implementations.dirfs import DirFileSystem

from aioa.settings import Settings

PROTOCOL = "aioaarchive"
CALLS_DIR = "marts/fct_llm_calls"  # <archive>/marts/fct_llm_calls/org=<org>/month=<YYYY-MM>/*.parquet
CALLS_GLOB = f"{PROTOCOL}://{CALLS_DIR}/**/*.parquet"


class ArchiveFileSystem(DirFileSystem):
    """The archive root as a file system of its own (paths relative to it, never above it)."""

    protocol = PROTOCOL
    read_only = False

    def _join(self, path):
        for part in [path] if isinstance(path, str) else path:
            if ".." in str(part).replace("\\", "/").split("/"):
                raise PermissionError(f"archive paths stay inside the archive: {part!r}")
        return super()._join(path)

    def open(self, path, mode="rb", *args, **kwargs):
        self._refuse_writes(mode)
        return super().open(path, mode, *args, **kwargs)

    def _open(self, path, mode="rb", *args, **kwargs):
        self._refuse_writes(mode)
        return super()._open(path, mode, *args, **kwargs)

    def _refuse_writes(self, mode: str) -> None:
        if self.read_only and any(flag in mode for flag in "wax+"):
            raise PermissionError("the archive is read-only for readers")


class ReadOnlyArchiveFileSystem(ArchiveFileSystem):
    read_only = True

    def rm(self, *args, **kwargs):
        raise PermissionError("the archive is read-only for readers")

    def mv(self, *args, **kwargs):
        raise PermissionError("the archive is read-only for readers")

    def mkdir(self, *args, **kwargs):
        raise PermissionError("the archive is read-only for readers")

    makedirs = mkdir


def archive_filesystem(settings: Settings, *, writable: bool) -> ArchiveFileSystem:
    """The archive root of `settings` (AIOA_ARCHIVE_URL, default <home>/archive) as a file system."""
    target, root = fsspec.core.url_to_fs(settings.resolved_archive_url)
    kind = ArchiveFileSystem if writable else ReadOnlyArchiveFileSystem
    # skip_instance_cache: fsspec would otherwise hand a reader the writer's (writable) instance of the same root
    return kind(path=root, fs=target, skip_instance_cache=True)


def has_archived_calls(filesystem: ArchiveFileSystem) -> bool:
    return bool(filesystem.glob(f"{CALLS_DIR}/**/*.parquet"))


def register(connection, filesystem: ArchiveFileSystem) -> None:
    """Make `aioaarchive://` readable (or writable) on `connection`'s database (once per database instance)."""
    if not connection.filesystem_is_registered(PROTOCOL):
        connection.register_filesystem(filesystem)
