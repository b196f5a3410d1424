"""specmill: Basic Memory specs in, tested git branches out, one durable workflow per run."""

__version__ = "0.1.0"
