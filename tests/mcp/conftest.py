"""Fixtures of the MCP tests: the fake servers (tests/mcp/fake_servers.py) as configured servers, and a
streamable-HTTP one running on a free 127.0.0.1 port for the module."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aioa.mcp.servers import McpServer
from tests.servers import free_port, port_answers, running

FAKE = Path(__file__).with_name("fake_servers.py")


def stdio_server(name: str, mode: str, **extra) -> McpServer:
    return McpServer(
        name=name,
        scope="user",
        transport="stdio",
        configured_in=f"test:{name}",
        command=sys.executable,
        args=[str(FAKE), mode],
        **extra,
    )


@pytest.fixture(scope="module")
def http_server_url():
    """A FastMCP server over streamable HTTP, started for the module and always stopped."""
    port = free_port()
    with running(
        [sys.executable, str(FAKE), "http", str(port)], ready=port_answers(port), start_timeout_s=60
    ) as server:
        yield f"http://127.0.0.1:{port}/mcp", server.pid
