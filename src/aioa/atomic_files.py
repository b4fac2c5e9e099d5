"""Files that readers in other processes open while we replace them: written beside the target under a unique
temporary name, then renamed onto it (`os.replace`), so a reader sees the old file or the new one, never a part."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def write_atomically(path: Path, write: Callable[[Path], None], *, durable: bool = False) -> Path:
    """`write(temporary path)` beside `path`, then rename it onto `path`. The temporary name is unique (concurrent
    writers never share one), starts with a dot (no reader's glob matches it) and is removed if writing fails;
    `durable` flushes it to disk before the rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        write(partial)
        if durable:
            with partial.open("rb") as handle:
                os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def write_text_atomically(path: Path, text: str, *, private: bool = False, durable: bool = False) -> Path:
    """`text` (UTF-8) as the whole new content of `path`; `private` files are readable by their owner only, from
    their first byte on."""
    return write_atomically(path, lambda partial: _write_new(partial, text, private=private), durable=durable)


def _write_new(path: Path, text: str, *, private: bool) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def create_once(path: Path, text: str, *, private: bool = True) -> None:
    """Give `path` the content `text` unless it exists: of several processes creating it at once the first wins, and
    the others leave it as they found it (a hard link is atomic and fails on an existing name)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        _write_new(draft, text, private=private)
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink(missing_ok=True)


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock for replacing `path` (a `<name>.lock` file beside it, locked with flock) across
    processes: a writer that reads the current file before replacing it cannot interleave with another one.
    Where flock is unavailable (Windows) nothing is locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f"{path.name}.lock"), "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
