"""Discovery on config files the test writes: Claude Code's user, local, project (approved or not), managed and
plugin servers, Claude Desktop's config on macOS and Linux locations, settings overrides, and secrets redacted
everywhere they could show or be stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aioa.mcp.discovery import discover
from aioa.mcp.store import McpStore
from aioa.settings import Settings

SECRETS = ("ghp_user_secret", "sk-desktop-secret", "bearer-secret", "query-secret", "arg-secret", "pw-secret")


def _write(path: Path, payload: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))
    return path


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.setenv("TEST_GITHUB_TOKEN", "ghp_user_secret")
    home = tmp_path / "user"
    project = tmp_path / "repo"
    other = tmp_path / "other-repo"
    _write(
        home / ".claude.json",
        {
            "mcpServers": {
                "github": {
                    "command": "npx",
                    "args": ["-y", "@modelcontextprotocol/server-github", "--api-key", "arg-secret"],
                    "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${TEST_GITHUB_TOKEN}"},
                },
                "linear": {
                    "type": "sse",
                    "url": "https://mcp.linear.example/sse?token=query-secret",
                    "headers": {"Authorization": "Bearer bearer-secret"},
                },
            },
            "projects": {
                str(project): {
                    "mcpServers": {"local-db": {"command": "uvx", "args": ["db-mcp", "postgres://me:pw-secret@db/x"]}},
                    "disabledMcpServers": [],
                },
                str(other): {"mcpServers": {"old": {"command": "old-mcp"}}, "disabledMcpServers": ["old"]},
            },
        },
    )
    _write(
        project / ".mcp.json",
        {
            "mcpServers": {
                "approved": {"type": "http", "url": "http://127.0.0.1:9/mcp"},
                "unapproved": {"command": "sh", "args": ["-c", "echo never run"]},
            }
        },
    )
    _write(project / ".claude" / "settings.local.json", {"enabledMcpjsonServers": ["approved"]})
    # the repository's own checked-in settings cannot approve its servers
    _write(
        project / ".claude" / "settings.json",
        {"enableAllProjectMcpServers": True, "mcpServers": {"repo-settings": {"command": "sh"}}},
    )
    plugin_root = home / ".claude" / "plugins" / "cache" / "market" / "docs-plugin" / "1.0.0"
    _write(plugin_root / ".mcp.json", {"mcpServers": {"docs": {"command": "${CLAUDE_PLUGIN_ROOT}/bin/docs-mcp"}}})
    _write(
        home / ".claude" / "settings.json",
        {"enabledPlugins": {"docs-plugin@market": True, "gone-plugin@market": False}},
    )
    _write(
        home / ".claude" / "plugins" / "installed_plugins.json",
        {"version": 2, "plugins": {"docs-plugin@market": [{"scope": "user", "installPath": str(plugin_root)}]}},
    )
    _write(
        home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json",
        {
            "mcpServers": {
                "filesystem": {"command": "npx", "args": ["fs-mcp"], "env": {"OPENAI_KEY": "sk-desktop-secret"}}
            }
        },
    )
    _write(home / ".config" / "Claude" / "claude_desktop_config.json", {"mcpServers": {"linux-only": {"command": "x"}}})
    managed = _write(
        tmp_path / "etc" / "managed-mcp.json",
        {"mcpServers": {"company": {"type": "http", "url": "https://mcp.corp.example/mcp"}}},
    )
    return Settings(
        home=tmp_path / "aioa-home",
        mcp_user_home=home,
        mcp_managed_config=managed,
        mcp_probe_disabled="linear",
    )


def _by_name(settings: Settings) -> dict:
    found = discover(settings, transcripts=False)
    return {server.name: server for server in found.servers}


def test_every_scope_is_found_with_transport_and_origin(configured: Settings, tmp_path: Path):
    servers = _by_name(configured)
    expected = {
        "github": ("user", "stdio"),
        "linear": ("user", "sse"),
        "local-db": ("local", "stdio"),
        "old": ("local", "stdio"),
        "approved": ("project", "streamable_http"),
        "unapproved": ("project", "stdio"),
        "repo-settings": ("project", "stdio"),
        "plugin:docs-plugin:docs": ("plugin", "stdio"),
        "filesystem": ("desktop", "stdio"),
        "linux-only": ("desktop", "stdio"),
        "company": ("managed", "streamable_http"),
    }
    assert {name: (server.scope, server.transport) for name, server in servers.items()} == expected
    assert servers["approved"].configured_in == str(tmp_path / "repo" / ".mcp.json")
    assert servers["local-db"].configured_in.endswith(f"#projects[{tmp_path / 'repo'}]")
    assert "Library/Application Support/Claude" in servers["filesystem"].configured_in


def test_approval_disable_and_opt_out_decide_what_is_probed(configured: Settings):
    servers = _by_name(configured)
    probeable = {name for name, server in servers.items() if server.probeable}
    # a cloned repo's unapproved .mcp.json and settings.json entries and a disabled local server are never started;
    # linear is opted out
    assert probeable == {
        "github",
        "local-db",
        "approved",
        "plugin:docs-plugin:docs",
        "filesystem",
        "linux-only",
        "company",
    }
    assert (
        servers["linear"].probe is False and servers["unapproved"].enabled is False and servers["old"].enabled is False
    )


def test_servers_keep_their_real_command_and_env_for_probing(configured: Settings, tmp_path: Path):
    servers = _by_name(configured)
    assert servers["github"].env == {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_user_secret"}  # ${VAR} expanded
    plugin_root = tmp_path / "user" / ".claude" / "plugins" / "cache" / "market" / "docs-plugin" / "1.0.0"
    assert servers["plugin:docs-plugin:docs"].command == f"{plugin_root}/bin/docs-mcp"
    assert servers["plugin:docs-plugin:docs"].name_in_tools == "docs"
    assert servers["linear"].headers == {"Authorization": "Bearer bearer-secret"}


def test_secrets_are_redacted_in_output_and_never_stored(configured: Settings):
    found = discover(configured, transcripts=False)
    shown = json.dumps([server.public() for server in found.servers])
    assert not [secret for secret in SECRETS if secret in shown]
    by_name = {entry["name"]: entry for entry in json.loads(shown)}
    assert by_name["github"]["env"] == {"GITHUB_PERSONAL_ACCESS_TOKEN": "***"}
    assert by_name["github"]["args"] == ["-y", "@modelcontextprotocol/server-github", "--api-key", "***"]
    assert by_name["linear"]["url"] == "https://mcp.linear.example/sse?token=***"
    assert by_name["linear"]["headers"] == {"Authorization": "***"}
    assert by_name["local-db"]["args"] == ["db-mcp", "postgres://***@db/x"]
    store = McpStore(configured)
    store.record_sightings("acme", found.servers)
    store.close()
    stored = (configured.home / "mcp.db").read_bytes()
    assert not [secret for secret in SECRETS if secret.encode() in stored]
    assert b"github" in stored  # the sighting itself is stored


def test_first_seen_is_kept_across_discoveries(configured: Settings):
    store = McpStore(configured)
    first = discover(configured, transcripts=False).servers
    store.record_sightings("acme", first)
    again = discover(configured, transcripts=False).servers
    store.record_sightings("acme", again)
    store.close()
    assert {server.name: server.first_seen for server in first} == {server.name: server.first_seen for server in again}


def test_cli_discover_json(configured: Settings, monkeypatch: pytest.MonkeyPatch):
    from aioa.cli import app

    monkeypatch.setenv("AIOA_HOME", str(configured.home))
    monkeypatch.setenv("AIOA_MCP_USER_HOME", str(configured.mcp_user_home))
    monkeypatch.setenv("AIOA_MCP_MANAGED_CONFIG", str(configured.mcp_managed_config))
    result = CliRunner().invoke(app, ["mcp", "discover", "--json", "--no-transcripts"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 11 and not [secret for secret in SECRETS if secret in result.stdout]
    for row in rows:
        assert {"name", "scope", "transport", "command", "url", "configured_in", "first_seen"} <= set(row)
        assert row["first_seen"] is not None
