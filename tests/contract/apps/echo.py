"""Test app of the runtime conformance suite (stdlib only): a tiny HTTP server.

``GET /`` answers ``<DEPLOYMENT> <PORT>``; ``GET /env/<NAME>`` the env var or 404;
``GET /argv`` its arguments. Every request is logged to stdout as ``<METHOD> <PATH>``.
It listens on ``--port N`` when given (to test ``$PORT`` expansion), else on ``$PORT``, at
``$HOST`` (default 127.0.0.1; a container's app must listen on 0.0.0.0 to be reached).
"""

import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/env/"):
            value = os.environ.get(self.path.removeprefix("/env/"))
            self._send(200 if value is not None else 404, value if value is not None else "not set")
        elif self.path == "/argv":
            self._send(200, " ".join(sys.argv[1:]))
        else:
            self._send(200, f"{os.environ.get('DEPLOYMENT')} {os.environ.get('PORT')}")

    def _send(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        print(f"{self.command} {self.path}", flush=True)


def main() -> None:
    args = sys.argv[1:]
    port = int(args[args.index("--port") + 1]) if "--port" in args else int(os.environ["PORT"])
    print(f"booting on {port}", flush=True)
    ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), port), Handler).serve_forever()


if __name__ == "__main__":
    main()
