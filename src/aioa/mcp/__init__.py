"""MCP servers: discovery (configs and transcripts), probing with the official SDK, status history, tool-list
change events, and Claude Desktop's server logs. See docs/mcp.md."""
