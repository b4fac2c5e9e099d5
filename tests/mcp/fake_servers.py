"""MCP servers the tests start, built with the SDK's FastMCP (`MCPServer` in mcp 2.x). Run as a script:

python fake_servers.py stdio            tools add/echo, a resource and a prompt, version 1.0.0
python fake_servers.py http PORT        the same over streamable HTTP on 127.0.0.1:PORT (path /mcp)
python fake_servers.py hang             starts a child process, then never answers (its lifespan never ends)
python fake_servers.py crash            exits at start with an error on stderr
python fake_servers.py changing         tools listed in the JSON file $FAKE_TOOLS_FILE: [[name, variant], ...]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer

CRASH_MESSAGE = "boom: FAKE_API_KEY is not set"


def demo_server(name: str) -> MCPServer:
    server = MCPServer(name, version="1.0.0")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        """Say it back."""
        return text

    @server.resource("fake://readme")
    def readme() -> str:
        return "hello"

    @server.prompt()
    def greet(name: str) -> str:
        return f"hello {name}"

    return server


def search(query: str) -> str:
    """Search."""
    return query


def search_with_limit(query: str, limit: int) -> str:
    """Search."""
    return query[:limit]


def fetch(url: str) -> str:
    """Fetch a URL."""
    return url


def summarize(text: str) -> str:
    """Summarize."""
    return text[:10]


VARIANTS = {"search": search, "search_with_limit": search_with_limit, "fetch": fetch, "summarize": summarize}


def changing_server() -> MCPServer:
    server = MCPServer("changing", version="2.0.0")
    with open(os.environ["FAKE_TOOLS_FILE"], encoding="utf-8") as handle:
        for name, variant in json.load(handle):
            server.add_tool(VARIANTS[variant], name=name)
    return server


def hanging_server() -> MCPServer:
    @asynccontextmanager
    async def never_ready(_server):
        import anyio

        # a child of its own, as real servers have (npx, uvx): the probe must leave neither behind
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        await anyio.sleep_forever()
        yield

    return MCPServer("hanging", version="0.0.1", lifespan=never_ready)


def main(mode: str, *args: str) -> None:
    if mode == "stdio":
        demo_server("fake-stdio").run()
    elif mode == "http":
        demo_server("fake-http").run("streamable-http", host="127.0.0.1", port=int(args[0]))
    elif mode == "hang":
        hanging_server().run()
    elif mode == "crash":
        demo_server("crashing")  # built like the others, then fails before serving (a missing key, say)
        raise RuntimeError(CRASH_MESSAGE)
    elif mode == "changing":
        changing_server().run()
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(*sys.argv[1:])
