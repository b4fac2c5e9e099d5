"""A minimal stdio MCP server for the probe benchmark: standard library only, started with `python -S -E` so its
start-up costs what a Node or Go server's does (milliseconds), not the 0.7 CPU-s of importing the MCP SDK.

Speaks newline-delimited JSON-RPC 2.0 on stdin/stdout and answers everything `aioa mcp status` asks
(src/aioa/mcp/probe.py): `initialize` (the client's protocolVersion echoed), the `notifications/initialized`
notification (no reply), `tools/list` (two tools), `resources/list`, `prompts/list` (empty) and `ping`. Any other
request gets "method not found"; notifications are ignored. Exits at the end of stdin.
"""

import json
import sys

TOOLS = [
    {
        "name": "add",
        "description": "Add two numbers.",
        "inputSchema": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
    {
        "name": "echo",
        "description": "Say it back.",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    },
]


def answer(method: str, params: dict) -> dict | None:
    if method == "initialize":
        return {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}, "resources": {}, "prompts": {}},
            "serverInfo": {"name": "minimal-bench", "version": "1.0.0"},
        }
    return {
        "tools/list": {"tools": TOOLS},
        "resources/list": {"resources": []},
        "prompts/list": {"prompts": []},
        "ping": {},
    }.get(method)


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            reply = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
        else:
            if "id" not in message or "method" not in message:
                continue  # a notification (notifications/initialized) or a response: no reply
            result = answer(message["method"], message.get("params") or {})
            reply = {"jsonrpc": "2.0", "id": message["id"]}
            if result is None:
                reply["error"] = {"code": -32601, "message": f"method not found: {message['method']}"}
            else:
                reply["result"] = result
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
