"""A tiny Flask app to deploy on Kubidu: `kubidu deploy` from this directory.

The platform installs requirements.txt, then runs the Procfile's ``web`` line with ``PORT``
set. ``GREETING`` shows how env vars (``kubidu env set GREETING=...``) reach the app.
"""

import html
import os

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> str:
    greeting = html.escape(os.environ.get("GREETING", "Hello from Kubidu"))
    return (
        "<!doctype html><html><head><title>Kubidu Python example</title></head>"
        f"<body><h1>{greeting}</h1><p>This Flask app runs on Kubidu.</p></body></html>"
    )


@app.get("/healthz")
def healthz() -> tuple[str, int, dict[str, str]]:
    return "ok\n", 200, {"Content-Type": "text/plain"}
