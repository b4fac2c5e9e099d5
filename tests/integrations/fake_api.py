"""A real HTTP server on 127.0.0.1 (a free port, its own thread) that plays an external API for the tests: each
(method, path) answers from a script of (status, JSON body) replies, the last one repeating; every request is kept."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: object


@dataclass
class FakeApi:
    routes: dict[tuple[str, str], list[tuple[int, object]]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)

    def __enter__(self) -> FakeApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.requests.append(
                    Seen(self.command, parts.path, parts.query, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                script = fake.routes.get((self.command, parts.path))
                status, reply = (404, {"message": "not found"}) if not script else script[0]
                if script and len(script) > 1:
                    script.pop(0)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def calls(self, method: str, path: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.method == method and seen.path == path]
