"""A real HTTP server on loopback (stdlib, in a thread) that keeps every POST it received."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookServer:
    """Answers every POST with `status` and `answer`; `posts` holds what arrived."""

    url: str
    status: int = 200
    answer: bytes = b"ok"
    location: str | None = None
    """Sent as a Location header (to test that redirects are not followed)."""
    posts: list[Post] = field(default_factory=list)


@contextmanager
def webhook_server(status: int = 200, answer: bytes = b"ok",
                   path: str = "/hook/T000/B000/secret") -> Iterator[WebhookServer]:
    """Serve on 127.0.0.1 (a free port) for the `with` block."""
    state = WebhookServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state.posts.append(Post(self.path, dict(self.headers.items()), body))
            self.send_response(state.status)
            self.send_header("Content-Type", "text/plain")
            if state.location is not None:
                self.send_header("Location", state.location)
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    state.status, state.answer = status, answer
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
