"""Fixtures of the MCP tests: the fake servers (tests/mcp/fake_servers.py) as configured servers, and a
streamable-HTTP one running on a free 127.0.0.1 port for the module."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aioa.mcp.servers import McpServer

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def http_server_url():
    """A FastMCP server over streamable HTTP, started for the module and always stopped."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(FAKE), "http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"the HTTP MCP server exited with {process.returncode}") from None
                time.sleep(0.1)
        else:
            raise RuntimeError("the HTTP MCP server did not listen within 60 s")
        yield f"http://127.0.0.1:{port}/mcp", process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
