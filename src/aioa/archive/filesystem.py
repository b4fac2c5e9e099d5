"""The archive's root as an fsspec file system of its own (`aioaarchive://`): paths stay inside it, and a reader's
copy refuses writes. Apart from `aioa.archive.store` so that a reader of an archive that holds nothing never loads
fsspec (~20 ms)."""

from __future__ import annotations

from fsspec.implementations.dirfs import DirFileSystem

from aioa.archive.store import PROTOCOL


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
