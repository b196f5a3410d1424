"""A small greeting service: an HTTP API and a CLI."""
