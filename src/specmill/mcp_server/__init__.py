"""specmill as an MCP server: the same runs as the HTTP API, as tools and resources for Claude and
other MCP clients, over stdio (`specmill mcp`) or streamable HTTP (`/mcp` on `specmill serve`)."""
