"""Keep pandas (and pyarrow.dataset) out of commands that never use them.

DuckDB 1.5's Python client imports pandas the first time a query binds a parameter, only to recognise pandas values
among the parameters (0.6 CPU-s, more than a whole warm report), and pyarrow.dataset the first time it scans an
Arrow table, only to recognise datasets and scanners (0.3-0.4 CPU-s of every ingest, which registers its batches as
Arrow tables); it carries on without either when the import fails. Inside `without_pandas()` such a module not yet
loaded is marked unavailable, so DuckDB skips it; leaving the block makes it importable again (DuckDB then finds it
as usual)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_pandas(*also: str) -> Iterator[None]:
    """For single-threaded CLI commands whose code never imports pandas (`aioa report`, `aioa ingest`: the start-up
    test checks it), nor the modules named in `also` (`aioa ingest`: "pyarrow.dataset"); an import of one of them
    inside the block raises ImportError."""
    marked = [name for name in ("pandas", *also) if name not in sys.modules]
    for name in marked:
        sys.modules[name] = None  # the import system's "not importable" marker
    try:
        yield
    finally:
        for name in marked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
