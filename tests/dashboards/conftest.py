"""The identity fixtures (a fresh SQLite store per test) for the dashboard layout tests."""

from tests.identity.conftest import ids  # noqa: F401 - re-exported fixture
