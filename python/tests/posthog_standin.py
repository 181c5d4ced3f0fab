"""A stand-in for PostHog's API on 127.0.0.1, for the ``verify=`` tests
(these machines reach no host outside the package registries): one server
per region, each answering ``GET /api/users/@me/`` as the test says for
the key it is sent, and recording every request it gets."""

from __future__ import annotations

import http.server
import threading
import time
from typing import Callable, Dict, List, Optional


class Request:
    """One request a stand-in got: method, target (path and query),
    headers (names lowercased)."""

    def __init__(self, method: str, path: str, headers: Dict[str, str]) -> None:
        self.method, self.path, self.headers = method, path, headers

    def key(self) -> Optional[str]:
        bearer = self.headers.get("authorization", "")
        return bearer[len("Bearer "):] if bearer.startswith("Bearer ") else None


class StandIn:
    """A threaded HTTP server on 127.0.0.1: ``answer(key)`` gives the status
    to reply with, or ``"hang"`` (no reply within the test's timeout)."""

    def __init__(self, answer: Callable[[Optional[str]], object]) -> None:
        self.requests: List[Request] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Request("GET", self.path, headers)
                with standin.lock:
                    standin.requests.append(request)
                reply = answer(request.key())
                if reply == "hang":
                    standin.release.wait(30)
                    return
                body = b'{"detail":"stand-in"}'
                self.send_response(int(reply))  # type: ignore[arg-type]
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args) -> None:  # the test output stays quiet
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def calls(self) -> List[Request]:
        with self.lock:
            return list(self.requests)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Polls ``condition`` until it holds or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
