"""App tests run as the one local operator (AIOA_AUTH=off) unless they test signing in (test_sign_in.py)."""

import pytest


@pytest.fixture(autouse=True)
def _local_operator(monkeypatch):
    monkeypatch.setenv("AIOA_AUTH", "off")
