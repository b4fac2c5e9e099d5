"""Claude Desktop's MCP logs, in both line layouts it writes (`[server] [level]` in mcp-server-*.log, `[level]
[server]` in mcp.log), with multi-line metadata and `{ metadata: ... }` suffixes: starts, connect times, request
latencies paired by id per connection, error responses and connection errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from aioa.mcp.desktop_logs import read_desktop_logs
from aioa.settings import Settings

SERVER_LOG = """\
2026-03-10T17:03:18.749Z [demo] [info] Initializing server... { metadata: undefined }
2026-03-10T17:03:18.762Z [demo] [info] Server started and connected successfully { metadata: undefined }
2026-03-10T17:03:18.764Z [demo] [info] Message from client: {"method":"initialize","params":{},"jsonrpc":"2.0","id":0} { metadata: undefined }
2026-03-10T17:03:18.829Z [demo] [info] Message from server: {"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2024-11-05"}} { metadata: undefined }
2026-03-10T17:03:19.000Z [demo] [info] Message from client: {"method":"tools/list","jsonrpc":"2.0","id":1}
2026-03-10T17:03:19.020Z [demo] [info] Message from server: {"jsonrpc":"2.0","id":1,"result":{"tools":[]}}
2026-03-10T17:03:20.000Z [demo] [info] Message from client: {"method":"tools/call","params":{"name":"x"},"jsonrpc":"2.0","id":2}
2026-03-10T17:03:20.500Z [demo] [info] Message from server: {"jsonrpc":"2.0","id":2,"error":{"code":-32603,"message":"bad"}}
2026-03-10T17:05:00.000Z [demo] [info] Using MCP server command: /usr/bin/node with path: {
  metadata: {
    paths: [ '/usr/bin' ]
  }
}
2026-03-10T17:05:01.000Z [demo] [error] Server disconnected. For troubleshooting guidance, please visit our [debugging documentation](https://modelcontextprotocol.io/docs/tools/debugging) { metadata: { context: 'connection', stack: undefined } }
2026-03-10T17:06:00.000Z [demo] [info] Initializing server...
2026-03-10T17:06:00.300Z [demo] [info] Server started and connected successfully
2026-03-10T17:06:00.310Z [demo] [info] Message from client: {"method":"initialize","jsonrpc":"2.0","id":0}
2026-03-10T17:06:00.410Z [demo] [info] Message from server: {"jsonrpc":"2.0","id":0,"result":{}}
"""

MCP_LOG = """\
2026-03-12T17:53:14.624Z [info] [perplexity] Initializing server...
2026-03-12T17:53:14.651Z [info] [perplexity] Server started and connected successfully
2026-03-12T17:53:14.656Z [info] [perplexity] Message from client: {"method":"initialize","jsonrpc":"2.0","id":0}
2026-03-12T17:53:16.696Z [info] [perplexity] Server transport closed unexpectedly, this is likely due to the process exiting early.
2026-03-12T17:53:16.700Z [error] [perplexity] spawn uvx ENOENT
"""


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "Library" / "Logs" / "Claude"  # the macOS location, under the test's home
    folder.mkdir(parents=True)
    (folder / "mcp-server-demo.log").write_text(SERVER_LOG)
    (folder / "mcp.log").write_text(MCP_LOG)
    (folder / "main.log").write_text("not an MCP log\n")
    return tmp_path


def test_connects_requests_and_errors_per_server(log_dir: Path):
    logs = {log.server: log.public() for log in read_desktop_logs(Settings(home=log_dir, mcp_user_home=log_dir))}
    assert set(logs) == {"demo", "perplexity"}
    demo = logs["demo"]
    assert demo["starts"] == 2
    assert demo["connect_ms_p50"] == pytest.approx((13 + 300) / 2) and demo["connect_ms_max"] == pytest.approx(300)
    assert demo["by_method"] == {
        "initialize": {"requests": 2, "ms_p50": pytest.approx((65 + 100) / 2)},
        "tools/list": {"requests": 1, "ms_p50": pytest.approx(20)},
        "tools/call": {"requests": 1, "ms_p50": pytest.approx(500)},
    }
    assert demo["requests"] == 4 and demo["error_responses"] == 1
    assert demo["errors"] == 1 and demo["last_error"].startswith("Server disconnected.")
    assert "metadata" not in demo["last_error"]
    perplexity = logs["perplexity"]
    assert perplexity["requests"] == 0  # initialize never answered
    assert perplexity["errors"] == 2 and perplexity["last_error"] == "spawn uvx ENOENT"
    assert perplexity["log_files"] == [str(log_dir / "Library" / "Logs" / "Claude" / "mcp.log")]


def test_the_log_folder_setting_wins(log_dir: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "mcp-server-other.log").write_text(MCP_LOG.replace("perplexity", "other"))
    settings = Settings(home=tmp_path, mcp_user_home=log_dir, mcp_desktop_log_dir=elsewhere)
    assert [log.server for log in read_desktop_logs(settings)] == ["other"]
