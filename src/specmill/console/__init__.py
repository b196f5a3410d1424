"""The console: web pages at `/` of `specmill serve` to watch, review and steer runs.

Pages render on the server from Jinja2 templates over the same service layer as the JSON API
(`api/service.py`, `queries.py`); one small vendored script (`static/console.js`) adds live
updates (Server-Sent Events) and the actions, which post JSON with a CSRF token. Nothing loads
from another origin, and a strict Content-Security-Policy says so to the browser.
"""
