"""Shared fixtures: an isolated AIOA_HOME per test, and the path of the shared third-party data."""

from __future__ import annotations

import shutil
import signal
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from aioa.settings import PROJECT_ROOT, Settings
from tests.servers import signal_masks

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


_PYTEST_MAIN = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit's AppTest leaves the app script as `__main__`; a later test's spawned process would re-run it."""
    yield
    sys.modules["__main__"] = _PYTEST_MAIN


_STOP_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)


def _ignored_stop_signals() -> set[signal.Signals]:
    """Stop signals this process ignores, as the kernel sees it (children inherit an ignored signal across exec)."""
    try:
        mask = signal_masks("self")["SigIgn"]
    except OSError:
        return set()
    return {number for number in _STOP_SIGNALS if mask >> (number - 1) & 1}


_IGNORED_AT_START = _ignored_stop_signals()


@pytest.fixture(autouse=True)
def _stop_signals_stay_default(request):
    """A test (or a library it runs) that leaves SIGTERM ignored makes every server a later test starts unstoppable
    but by SIGKILL (seen twice: `python -m http.server` ignored SIGTERM). The cause found: Dagster copied SIGINT's
    handler (ignored in an xdist worker) to SIGTERM on every pipeline run; `aioa.pipeline` now puts SIGTERM back.
    Any other such test is named here and the signals are put back."""
    yield
    left = _ignored_stop_signals() - _IGNORED_AT_START
    if left:
        for number in left:
            signal.signal(number, signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL)
        names = ", ".join(sorted(signal.Signals(number).name for number in left))
        warnings.warn(f"{request.node.nodeid} left {names} ignored; reset to the default", stacklevel=1)


def pytest_configure(config: pytest.Config) -> None:
    """The dbt manifest the Dagster definitions are built from, as `aioa run` and `dagster dev` prepare it: test
    modules import the definitions, and a fresh clone has no manifest yet."""
    from aioa.warehouse.dbt.runner import prepare_manifest

    prepare_manifest(Settings())


# The longest test files first (per-file seconds of a full run, 2026-11-30): `make test` hands whole files to two
# workers in collection order (`--dist loadfile --no-loadscope-reorder`), so the long ones start early and the
# short ones fill the end, instead of one worker finishing a long file alone. Files not listed keep their order.
LONGEST_FIRST = (
    "tests/ml/test_router.py",
    "tests/warehouse/test_pipeline.py",
    "tests/ml/test_anomaly_measurement.py",
    "tests/warehouse/test_server_mode.py",
    "tests/orchestration/test_one_pipeline.py",
    "tests/security/test_cross_tenant.py",
    "tests/ml/test_forecasting.py",
    "tests/privacy/test_privacy.py",
    "tests/security/test_hostile_files.py",
    "tests/apps/test_browser_dashboards.py",
    "tests/security/test_hostile_questions.py",
    "tests/archive/test_archive_encryption.py",
    "tests/notebooks/test_notebooks.py",
    "tests/jobs/test_dagster_celery.py",
    "tests/ml/test_feedback.py",
    "tests/api/test_route_predict_remote.py",
    "tests/warehouse/test_quality_gate.py",
    "tests/integrations/test_git_links.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: index for index, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    home = tmp_path / "aioa-home"
    monkeypatch.setenv("AIOA_HOME", str(home))
    monkeypatch.delenv("AIOA_ATTRIBUTION_FILE", raising=False)
    monkeypatch.delenv("AIOA_PRICE_OVERRIDES_FILE", raising=False)
    return Settings(home=home)


def shared_data(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"shared data {path} is absent (it sits beside the checkout in CI)")
    return path


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """The small generated sample (seed 7), written once per test session."""
    from aioa.generate import generate

    out = tmp_path_factory.mktemp("sample") / "sample"
    generate(out, size="small", seed=7)
    return out


@pytest.fixture(scope="session")
def built_home(sample_dir: Path, tmp_path_factory) -> Path:
    """A home with the sample ingested, the marts built and a snapshot published (copy it before writing); the ML
    assets are left out (`include_ml=False`): tests of the ML build their own."""
    home = tmp_path_factory.mktemp("built") / "home"
    home.mkdir()
    shutil.copy(sample_dir / "attribution.yaml", home / "attribution.yaml")
    from aioa.pipeline import SourcePaths, run_pipeline

    run_pipeline(Settings(home=home), SourcePaths.from_sample(sample_dir), include_ml=False)
    return home


PG_SERVER = "postgresql://postgres@127.0.0.1:5432"  # the machine's PostgreSQL (trust auth); `test` always exists


def pg_admin(statement: str) -> None:
    """Run one administrative statement (CREATE/DROP DATABASE run outside a transaction) on the test server."""
    import psycopg2

    try:
        connection = psycopg2.connect(f"{PG_SERVER}/test", connect_timeout=3)
    except psycopg2.OperationalError:  # the server is installed but stopped: start it, as CI does
        import subprocess

        version = next(Path("/etc/postgresql").iterdir()).name
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True)
        connection = psycopg2.connect(f"{PG_SERVER}/test", connect_timeout=10)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


@contextmanager
def pg_database(prefix: str) -> Iterator[str]:
    """The URL of a new PostgreSQL database with a random name, dropped (connections and all) afterwards."""
    import secrets

    name = f"{prefix}_{secrets.token_hex(4)}"  # our own random name: safe to paste into the DDL
    pg_admin(f"CREATE DATABASE {name}")
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        from aioa.identity import store

        store.dispose_all()  # pooled identity-store connections would hold the database open
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_databases() -> Iterator[Callable[[str], str]]:
    """`new(prefix)` gives the URL of a fresh PostgreSQL database; every database made is dropped after the test."""
    with ExitStack() as stack:
        yield lambda prefix: stack.enter_context(pg_database(prefix))
