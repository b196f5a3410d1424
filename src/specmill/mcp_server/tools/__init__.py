"""One MCP tool per module, named after the tool; `server.py` registers them."""
