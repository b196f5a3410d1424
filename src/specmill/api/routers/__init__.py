"""One router per group of endpoints, attached in `specmill.api.app` with `include_router`."""
