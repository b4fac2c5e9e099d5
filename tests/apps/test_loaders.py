"""The app's data access: one typed, cached loader per page query, keyed by snapshot version, filters and tenant
scope; pages read through the loaders and the context the entrypoint prepares, never a connection of their own."""

from __future__ import annotations

import inspect
import re
import sys

from aioa.analytics import queries
from aioa.settings import PROJECT_ROOT

APP_DIR = PROJECT_ROOT / "apps" / "dashboard"
PAGES = sorted((APP_DIR / "app_pages").glob("*.py"))


def _loaders():
    sys.path.insert(0, str(APP_DIR))
    try:
        import loaders
    finally:
        sys.path.remove(str(APP_DIR))
    return loaders


def test_every_page_query_has_one_typed_cached_loader():
    loaders = _loaders()
    names = [
        name
        for name, function in inspect.getmembers(queries, inspect.isfunction)
        if function.__module__ == queries.__name__ and not name.startswith("_") and name != "table_exists"
    ]
    for name in names:
        loader = getattr(loaders, name, None)
        assert loader is not None, f"no loader for the page query {name}"
        assert hasattr(loader, "clear"), f"loaders.{name} is not cached with st.cache_data"
        signature = inspect.signature(loader)
        parameters = list(signature.parameters)
        assert parameters[0] == "version", f"loaders.{name} is not keyed by the snapshot version"
        assert "scope" in parameters, f"loaders.{name} is not keyed by the tenant scope"
        query_parameters = inspect.signature(getattr(queries, name)).parameters
        assert ("filters" in parameters) == ("filters" in query_parameters), name
        assert signature.return_annotation is not inspect.Signature.empty, f"loaders.{name} has no return type"
        assert all(parameter.annotation is not inspect.Parameter.empty for parameter in signature.parameters.values())


def test_pages_read_only_through_loaders_and_the_page_context():
    forbidden = {
        r"\bdata\(": "the string lookup `data(...)`",
        r"connect|open_snapshot|duckdb|TimedReader": "a connection",
        r"require_snapshot|sidebar_filters|tenant_scope\(": "the preamble the entrypoint draws once",
        r"\[\s*\w+\[\"org_id\"\]\s*==|\.org_id\s*==": "tenant filtering in pandas",
        r"\bselect\b.*\bfrom\b": "SQL",
    }
    for page in PAGES:
        text = page.read_text()
        # pages that need no snapshot read the identity store, rules and doctor, not usage data: the principal only
        if page.name in ("admin.py", "automations.py", "health.py"):
            assert "signed_in()" in text and "loaders." not in text
            continue
        assert "page_context()" in text, f"{page.name} does not read the entrypoint's context"
        for pattern, what in forbidden.items():
            assert not re.search(pattern, text, re.IGNORECASE), f"{page.name} uses {what}"


def test_routing_task_types_come_from_the_data():
    text = (APP_DIR / "app_pages" / "routing.py").read_text()
    assert "loaders.handoff_task_types(" in text
    assert not re.search(r"\[\s*\"code_generation\"\s*,", text)
