"""The HTTP API: start runs, follow them and steer them. `app.create_app` is its composition root."""
