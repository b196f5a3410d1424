"""Basic Memory, split by job: the MCP transport, the client that calls its tools and reads
their answers, and the two ports built on that client (the spec store and the note index)."""

from specmill.adapters.basic_memory.client import TOOL_ARGUMENTS, BasicMemoryClient, ToolAnswer
from specmill.adapters.basic_memory.note_index import BasicMemoryNoteIndex
from specmill.adapters.basic_memory.spec_store import BasicMemorySpecStore
from specmill.adapters.basic_memory.transport import McpTransport, basic_memory_env

__all__ = [
    "TOOL_ARGUMENTS",
    "BasicMemoryClient",
    "BasicMemoryNoteIndex",
    "BasicMemorySpecStore",
    "McpTransport",
    "ToolAnswer",
    "basic_memory_env",
]
