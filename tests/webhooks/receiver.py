"""A real HTTP server on 127.0.0.1 that records what webhooks post to it and answers with the
statuses a test scripts (``ThreadingHTTPServer`` in a thread of the test process)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes  # the raw bytes, as a receiver must sign them


@dataclass
class Receiver:
    url: str
    statuses: list[int]  # answers in order; the last one repeats
    requests: list[Received] = field(default_factory=list)


@contextmanager
def receiver(*statuses: int) -> Iterator[Receiver]:
    """A server answering ``statuses`` in turn (the last repeats; 200 when none are given)."""
    state = Receiver(url="", statuses=list(statuses) or [200])
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (the http.server naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                state.requests.append(Received(self.path, dict(self.headers.items()), body))
                index = min(len(state.requests), len(state.statuses)) - 1
                status = state.statuses[index]
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet test output

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/llmplanner"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
