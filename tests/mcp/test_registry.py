"""The MCP registry: server.json entries imported from a file and from a URL (a registry API page served by the
test on 127.0.0.1), matched to configured servers by package or URL, with the version they run (pinned in their
arguments or reported by their last probe) against the registry's."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aioa.mcp.discovery import discover
from aioa.mcp.probe import ProbeResult
from aioa.mcp.registry import import_entries, load, match, probed_versions, stored_entries
from aioa.mcp.store import McpStore
from aioa.settings import Settings

FILESYSTEM = {
    "name": "io.github.modelcontextprotocol/server-filesystem",
    "version": "1.2.0",
    "packages": [
        {
            "registryType": "npm",
            "identifier": "@modelcontextprotocol/server-filesystem",
            "version": "1.2.0",
            "transport": {"type": "stdio"},
        }
    ],
}
FETCH = {
    "name": "io.github.modelcontextprotocol/server-fetch",
    "version": "2.0.1",
    "packages": [{"registryType": "pypi", "identifier": "mcp-server-fetch", "version": "2.0.1"}],
}
REMOTE = {
    "name": "com.example/docs",
    "version": "3.0.0",
    "remotes": [{"type": "streamable-http", "url": "https://mcp.docs.example/mcp"}],
}
PAGE = {"servers": [{"server": FETCH, "_meta": {}}, {"server": REMOTE}], "metadata": {"count": 2}}


@pytest.fixture
def registry_url():
    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            body = json.dumps(PAGE).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v0/servers"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch) -> Settings:
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    user = tmp_path / "user"
    user.mkdir()
    servers = {
        "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem@1.0.0", "/tmp"]},
        "fetch": {"command": "uvx", "args": ["mcp-server-fetch"]},
        "docs": {"type": "http", "url": "https://mcp.docs.example/mcp/"},
        "homegrown": {"command": "python", "args": ["server.py"]},
    }
    (user / ".claude.json").write_text(json.dumps({"mcpServers": servers}))
    return Settings(home=tmp_path / "home", mcp_user_home=user)


def test_import_from_a_file_and_a_url_and_match(settings: Settings, registry_url: str, tmp_path: Path):
    one = tmp_path / "server.json"
    one.write_text(json.dumps(FILESYSTEM))
    store = McpStore(settings)
    try:
        assert import_entries(store, load(str(one)), str(one)) == 1
        assert import_entries(store, load(registry_url), registry_url) == 2
        assert sorted(entry.name for entry in stored_entries(store)) == sorted(
            entry["name"] for entry in (FILESYSTEM, FETCH, REMOTE)
        )
        servers = discover(settings, transcripts=False).servers
        fetch = next(server for server in servers if server.name == "fetch")
        store.record_probe("acme", ProbeResult(fetch, "up", server_version="1.9.0"))
        rows = {row["name"]: row for row in match(servers, stored_entries(store), probed_versions(store, "acme"))}
    finally:
        store.close()
    assert rows["filesystem"] == {
        "name": "filesystem",
        "scope": "user",
        "registry_name": FILESYSTEM["name"],
        "registry_version": "1.2.0",
        "version": "1.0.0",
        "version_source": "pinned",
        "behind": True,
    }
    assert (rows["fetch"]["version"], rows["fetch"]["version_source"], rows["fetch"]["behind"]) == (
        "1.9.0",
        "probe",
        True,
    )
    assert rows["docs"]["registry_name"] == "com.example/docs" and rows["docs"]["behind"] is False  # version unknown
    assert rows["homegrown"]["registry_name"] is None and rows["homegrown"]["behind"] is False


def test_cli_import_and_match(settings: Settings, registry_url: str, monkeypatch):
    from aioa.cli import app

    monkeypatch.setenv("AIOA_HOME", str(settings.home))
    monkeypatch.setenv("AIOA_MCP_USER_HOME", str(settings.mcp_user_home))
    runner = CliRunner()
    imported = runner.invoke(app, ["mcp", "registry", "import", registry_url, "--json"])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout) == {"imported": 2, "source": registry_url}
    matched = runner.invoke(app, ["mcp", "registry", "match", "--json"])
    rows = {row["name"]: row for row in json.loads(matched.stdout)}
    assert rows["fetch"]["registry_version"] == "2.0.1" and rows["filesystem"]["registry_name"] is None
    table = runner.invoke(app, ["mcp", "registry", "match"])  # the table on stdout, as `aioa report` prints its own
    assert table.exit_code == 0 and "MCP servers and the registry" in table.stdout
    assert "2.0.1" in table.stdout and "\x1b[" not in table.stdout
    missing = runner.invoke(app, ["mcp", "registry", "import", str(settings.home / "absent.json")])
    assert missing.exit_code == 2 and "Could not read" in missing.output
