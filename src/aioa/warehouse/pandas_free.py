"""Keep pandas out of commands that never use it. DuckDB 1.5's Python client imports pandas the first time a query
binds a parameter, only to recognise pandas values among the parameters (0.6 CPU-s, more than a whole warm report);
it carries on without pandas when the import fails. Inside `without_pandas()` a pandas not yet loaded is marked
unavailable, so DuckDB skips it; leaving the block makes it importable again (DuckDB then finds it as usual)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_pandas() -> Iterator[None]:
    """For single-threaded CLI commands whose code never imports pandas (`aioa report`, `aioa ingest`: the start-up
    test checks it); an `import pandas` inside the block raises ImportError."""
    if "pandas" in sys.modules:
        yield
        return
    sys.modules["pandas"] = None  # the import system's "not importable" marker
    try:
        yield
    finally:
        if "pandas" in sys.modules and sys.modules["pandas"] is None:
            del sys.modules["pandas"]
